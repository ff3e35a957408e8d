"""expect: exit 1 no-fc
A LayerNorm over [80, 7, 7] on 10 copies of an 8×7×7 map, then a sum per copy: its learned weight
differs per position, a 392→10 dense layer (exit 0 before: normalizations were not judged so)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))
        self.ln = nn.LayerNorm([80, 7, 7], bias=False)
    def forward(self, x):
        h = self.f(x)                       # N,8,7,7
        h = torch.cat([h] * 10, 1)          # N,80,7,7
        h = self.ln(h)                      # per-position learned weight
        return h.view(len(x), 10, -1).sum(2)
