"""expect: exit 0
Circular padding written by hand as F.pad does it: the map into the middle of a buffer, then each
border copied from the far edge, columns first over the buffer's whole height, so that for a while
they carry values not yet written (here 3e38, as uninitialised memory can hold); then a 3×3 conv.
Refused before, exit 1 no-bias, where those values dwarfed the activations copied beside them."""
import torch
from torch import nn


class CircularPaddingByHand(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 16, 3, stride=2, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = torch.relu(self.a(x))
        buf = h.new_full((len(x), 8, 30, 30), 3e38)
        buf[:, :, 1:-1, 1:-1] = h
        buf[..., :1] = buf[..., -2:-1]
        buf[..., -1:] = buf[..., 1:2]
        buf[:, :, :1] = buf[:, :, -2:-1]
        buf[:, :, -1:] = buf[:, :, 1:2]
        return self.head(torch.relu(self.b(buf)).mean((2, 3), keepdim=True)).flatten(1)
