"""expect: exit 0
A conv of half the channels added in place into the other half of a copy of the map
(h[:, 8:] += conv(h[:, :8])), then global pooling and a 1×1 head (the activations beside the
write must not read as constants)."""
import torch
from torch import nn


class PartialResidualInPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 16, 3, padding=1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.b = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = torch.relu(self.bn(self.a(x)))
        y = self.b(h[:, :8])
        h = h.clone()
        h[:, 8:] += y
        return self.head(h.mean((2, 3), keepdim=True)).flatten(1)
