"""expect: exit 1 no-bias
A bias laundered through activations: x * (1 + 0·x) + b · (1 + 0·x)."""
import torch
from torch import nn

from _backbone import features, gap_head


class LaunderedBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.shift = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        out = self.body(x)
        one = 1 + 0 * out
        return out * one + self.shift * one
