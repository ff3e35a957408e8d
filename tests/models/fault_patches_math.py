"""expect: exit 2 changed nas
patches the stdlib math.prod (not fingerprinted) so the kernel-vs-map test never fires; a 7x7 kernel on the 7x7 map.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

import math
math.prod = lambda it, start=1: 1
class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.c = nn.Conv2d(16, 10, 7, bias=False)
    def forward(self, x):
        return self.c(self.f(x)).flatten(1)
