"""expect: exit 1 no-fc
The map folded into 784 channels, copied in place into a 784-channel 2×2 map of activations, then
a 1×1 conv: a dense layer (exit 0 before: the copy kept the map's tag, not the folded one's)."""
import torch.nn.functional as F

from _backbone import PositionsAsChannels


class FoldedCopiedIntoAMap(PositionsAsChannels):
    def forward(self, x):
        h = self.f(x)
        n = len(x)
        m = F.adaptive_avg_pool2d(x, 2).expand(n, 784, 2, 2).clone()
        m.copy_(h.reshape(n, 784, 1, 1).expand(n, 784, 2, 2))
        return self.c(m).mean((2, 3))
