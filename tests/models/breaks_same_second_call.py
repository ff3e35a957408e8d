"""expect: exit 1 max-params
Weights that appear on the second forward call, after a first call that a checker might count."""
import torch
from torch import nn

from _backbone import features, gap_head


class Grows(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 2:
            self.extra = nn.Parameter(torch.zeros(20_000))
        out = self.body(x)
        return out + 0 * self.extra[:10] if hasattr(self, "extra") else out
