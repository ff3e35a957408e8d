"""expect: exit 1 no-bias
A learned value, zero at first, written into a buffer's channel 0 beside the features: a bias once
it trains (exit 0 before: a learned value written into a buffer was not followed, and it read 0)."""
import torch
from torch import nn

from _backbone import ExtraChannel


class LearnedValueWrittenBeside(ExtraChannel):
    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        buf = torch.zeros(len(x), 17, 1, 1, device=x.device, dtype=h.dtype)
        buf[:, 0] = self.b
        buf[:, 1:] = h
        return self.head(buf).flatten(1)
