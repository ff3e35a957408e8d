"""expect: exit 1 no-bias
F.conv_transpose2d with a bias argument."""
import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features


class TransposeBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.weight = nn.Parameter(torch.randn(16, 10, 1, 1) * 0.1)
        self.shift = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        return F.conv_transpose2d(h, self.weight, bias=self.shift).flatten(1)
