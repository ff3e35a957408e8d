"""expect: exit 1 no-fc
A layer norm of 10 copies of the flattened map, with a learned weight per value, summed per copy: a
784→10 dense layer (exit 0 before: the per-position check needs positions, which a flat map lacks)."""
import torch, torch.nn as nn, torch.nn.functional as F
from _backbone import features

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = features()
        self.w = nn.Parameter(torch.randn(10, 784) * 0.05)
    def forward(self, x):
        h = self.f(x).flatten(1)                       # N,784: flat
        c = h.unsqueeze(1).expand(len(x), 10, 784)
        return F.layer_norm(c, (10, 784), self.w).sum(2)
