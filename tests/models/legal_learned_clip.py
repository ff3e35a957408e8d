"""expect: exit 0
PACT-style learned clipping threshold: torch.clamp(h, 0, alpha) with a learned scalar alpha (not an additive bias).
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.head = nn.Conv2d(16, 10, 1, bias=False); self.alpha = nn.Parameter(torch.tensor(6.0))
    def forward(self, x):
        h = torch.minimum(F.relu(self.f(x)), self.alpha)
        return self.head(h).mean((2, 3))
