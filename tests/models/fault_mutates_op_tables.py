"""expect: exit 2 frozenset
mutates nas.trace's op sets IN PLACE (same object id, so the fingerprint is unchanged): moves mm/addmm/linear into NORMALIZATIONS so a dense layer is waved through.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

import nas.trace as T
for op in ("mm", "addmm", "linear", "matmul", "bmm"):
    T.CONTRACTIONS.discard(op); T.NORMALIZATIONS.add(op)

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.W = nn.Parameter(torch.randn(10, 16*49) * 0.01)
    def forward(self, x):
        return F.linear(self.f(x).flatten(1), self.W)
