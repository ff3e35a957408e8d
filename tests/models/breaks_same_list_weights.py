"""expect: exit 1 no-fc
Dense weights kept in a plain Python list, where parameters() does not look."""
import torch
from torch import nn

from _backbone import features


class ListWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.stash = [torch.randn(16, 10, requires_grad=True)]

    def forward(self, x):
        return self.features(x).mean((2, 3)) @ self.stash[0]
