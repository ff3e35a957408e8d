"""expect: exit 0
A map zero-padded by hand: written into the middle of a zeros buffer one pixel larger all round,
then a 3×3 conv without padding (refused before, exit 1 consistent)."""
import torch
from torch import nn


class ZeroPaddedByABuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 16, 3, stride=2, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = torch.relu(self.a(x))
        buf = h.new_zeros(len(x), 8, 30, 30)
        buf[:, :, 1:-1, 1:-1] = h
        return self.head(torch.relu(self.b(buf)).mean((2, 3), keepdim=True)).flatten(1)
