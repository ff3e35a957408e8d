"""expect: exit 1 no-fc
A view of the weight taken in __init__, detached, so it is neither a parameter nor needs a gradient."""
import torch
from torch import nn

from _backbone import features


class DetachedView(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.weight = nn.Parameter(torch.randn(16, 10))
        self.shadow = self.weight.detach()  # shares storage: it changes when the weight is trained

    def forward(self, x):
        return self.features(x).mean((2, 3)) @ self.shadow
