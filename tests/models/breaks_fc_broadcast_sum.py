"""expect: exit 1 no-fc
A dense layer as a broadcast multiply then a sum over the flattened map."""
import torch
from torch import nn

from _backbone import features


class BroadcastDense(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.weight = nn.Parameter(torch.randn(10, 16 * 7 * 7) * 0.01)

    def forward(self, x):
        h = self.features(x).flatten(1)
        return (h.unsqueeze(1) * self.weight).sum(-1)
