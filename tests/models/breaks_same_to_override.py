"""expect: exit 1 max-params
Weights created inside an overridden .to(), which the trainer calls before training."""
import torch
from torch import nn

from _backbone import features, gap_head


class GrowsOnTo(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())

    def to(self, *args, **kwargs):
        self.hidden = nn.Parameter(torch.zeros(20_000))
        return super().to(*args, **kwargs)

    def forward(self, x):
        out = self.body(x)
        return out * (1 + 0 * self.hidden.sum()) if hasattr(self, "hidden") else out
