"""expect: exit 1 no-bias
Activations written into a buffer of ones but its first channel: the conv after it learns a bias
from that channel, as from a concatenated ones channel."""
import torch

from _backbone import ExtraChannel


class BufferOfOnes(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        buf = torch.ones(len(x), 17, 1, 1, device=x.device, dtype=h.dtype)
        buf[:, 1:] = h
        return self.head(buf).flatten(1)
