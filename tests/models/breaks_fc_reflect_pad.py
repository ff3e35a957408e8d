"""expect: exit 1 no-fc
Reflect padding makes a 7×7 kernel look smaller than the 13×13 map, but it spans the whole real 7×7
map (exit 0 before: only zero padding was known as border)."""
import torch, torch.nn as nn, torch.nn.functional as F

from _backbone import features

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = features()
        self.c = nn.Conv2d(16, 10, 7, bias=False)
    def forward(self, x):
        h = F.pad(self.f(x), (3, 3, 3, 3), mode="reflect")
        return self.c(h)[:, :, 3, 3]
