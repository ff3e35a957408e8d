"""expect: exit 0
Learned per-channel scales (one named debias), a bias-free SE gate, dropout, F.conv2d with a raw weight."""
import torch
import torch.nn.functional as F
from torch import nn


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(16, 1, 3, 3) * 0.3)
        self.debias = nn.Parameter(torch.ones(1, 16, 1, 1))
        self.body = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout2d(0.1),
                                  nn.Conv2d(16, 24, 3, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.squeeze = nn.Conv2d(24, 6, 1, bias=False)
        self.excite = nn.Conv2d(6, 24, 1, bias=False)
        self.head = nn.Conv2d(24, 10, 1, bias=False)

    def forward(self, x):
        h = self.body(F.conv2d(x, self.weight, padding=1) * self.debias)
        gate = torch.sigmoid(self.excite(F.relu(self.squeeze(h.mean((2, 3), keepdim=True)))))
        return self.head((h * gate).mean((2, 3), keepdim=True)).flatten(1)
