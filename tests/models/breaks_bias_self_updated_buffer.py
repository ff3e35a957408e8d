"""expect: exit 1 no-bias
An additive buffer that the model updates itself: a learned bias without a gradient."""
import torch
from torch import nn

from _backbone import features, gap_head


class DriftingBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.register_buffer("offset", torch.zeros(10))

    def forward(self, x):
        out = self.body(x)
        if self.training:
            with torch.no_grad():
                self.offset.mul_(0.9).add_(0.1 * out.mean(0))
        return out + self.offset
