"""expect: exit 1 no-fc
torch.take gathers all 784 values into the channels of a 1×1 map, and a 1×1 conv on it is a dense
layer (exit 0 before: take was not known to move positions)."""
import torch

from _backbone import PositionsAsChannels


class TakeIntoChannels(PositionsAsChannels):
    def forward(self, x):
        h = self.f(x)
        n = len(x)
        idx = (torch.arange(n, device=x.device)[:, None] * 784 + torch.arange(784, device=x.device)[None, :])
        cols = torch.take(h, idx.view(n, 784, 1, 1))
        return self.c(cols).flatten(1)
