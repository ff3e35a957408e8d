"""expect: exit 1 max-params
A 16→128 3×3 conv of 18,432 fixed random weights kept as a Python list, which holds no tensor,
and made a tensor in each forward: the recorded passes read it, so it is counted (once)."""
import random

import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features

_random = random.Random(0)
WEIGHTS = [_random.uniform(-0.1, 0.1) for _ in range(128 * 16 * 9)]


class ListMadeATensor(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.norm = nn.BatchNorm2d(128)
        self.head = nn.Conv2d(128, 10, 1, bias=False)

    def forward(self, x):
        fixed = torch.tensor(WEIGHTS, device=x.device).view(128, 16, 3, 3)
        return self.head(F.relu(self.norm(F.conv2d(self.features(x), fixed, padding=1)))).mean((2, 3))
