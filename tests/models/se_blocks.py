"""Helper blocks that take arguments, and one model: found without --name.

The squeeze-excitation gate in the middle is global, but the convolutions after it still
widen the local receptive field: 4 px after the pool, then 8, 12, 16, 20.
"""

import torch
import torch.nn.functional as F
from torch import nn


class SE(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.squeeze = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.excite = nn.Conv2d(channels // 2, channels, 1, bias=False)

    def forward(self, x):
        return x * torch.sigmoid(self.excite(F.relu(self.squeeze(x.mean((2, 3), keepdim=True)))))


class ConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class SEMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(ConvBN(1, 8), nn.MaxPool2d(2))
        self.se = SE(8)
        self.body = nn.Sequential(*[ConvBN(8, 8) for _ in range(4)])
        self.head = nn.Conv2d(8, 10, 1, bias=False)

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(self.body(self.se(self.stem(x))), 1)).flatten(1)
