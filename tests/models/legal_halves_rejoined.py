"""expect: exit 0
The 7×7 map split into left and right halves, each through its own 1×1 conv, joined back by
torch.cat along its width, then a 5×5 conv (padding 2): a kernel smaller than the rejoined map
(refused in 81b9dd3, exit 1 no-fc: one half was taken for the whole map)."""
import torch
from torch import nn

from _backbone import features


class HalvesRejoined(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = features()
        self.left = nn.Conv2d(16, 16, 1, bias=False)
        self.right = nn.Conv2d(16, 16, 1, bias=False)
        self.mix = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = self.f(x)
        h = torch.cat([self.left(h[..., :4]), self.right(h[..., 4:])], 3)
        h = torch.relu(self.mix(h))
        return self.head(h.mean((2, 3), keepdim=True)).flatten(1)
