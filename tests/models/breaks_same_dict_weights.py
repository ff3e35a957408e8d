"""expect: exit 1 max-params
16,000 conv weights kept in a dict of plain tensors: the parameter count must still see them."""
import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features


class DictWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.store = {"wide": torch.randn(100, 16, 3, 3, requires_grad=True),
                      "head": torch.randn(10, 100, 1, 1, requires_grad=True)}

    def forward(self, x):
        h = F.relu(F.conv2d(self.features(x), self.store["wide"], padding=1))
        return F.conv2d(h.mean((2, 3), keepdim=True), self.store["head"]).flatten(1)
