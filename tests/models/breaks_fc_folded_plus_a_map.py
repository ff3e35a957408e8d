"""expect: exit 1 no-fc
The map folded into 784 channels plus a tiny 2×2 map of the input, then a 1×1 conv: a dense layer
(exit 0 before: the sum took the larger map's tag, and the fold was lost)."""
import torch.nn.functional as F

from _backbone import PositionsAsChannels


class FoldedPlusAMap(PositionsAsChannels):
    def forward(self, x):
        h = self.f(x)
        n = len(x)
        folded = h.reshape(n, 784, 1, 1).expand(n, 784, 2, 2)
        decoy = 1e-6 * F.adaptive_avg_pool2d(x, 2).expand(n, 784, 2, 2)
        return self.c(decoy + folded).mean((2, 3))
