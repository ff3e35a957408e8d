"""A legitimate net whose forward reads a value back to the host (a finiteness guard).

It passes the rules, but its train step cannot be captured as a CUDA graph: training must fall
back to calling the step, and still train.
"""

import torch
from torch import nn


class GuardedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten())

    def forward(self, x):
        if not torch.isfinite(x).all():  # bool() of a device tensor: a host sync
            raise ValueError("non-finite input")
        return self.head(self.features(x))
