"""expect: exit 1 no-bias
torch.where(mask, h, 1.0): a constant written into the border (like nonzero padding) but via where with a python scalar, then a conv.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.c = nn.Conv2d(16, 10, 3, bias=False)
    def forward(self, x):
        h = F.pad(self.f(x), (1, 1, 1, 1))
        mask = torch.zeros(1, 1, 9, 9, dtype=torch.bool); mask[..., 1:-1, 1:-1] = True
        h = torch.where(mask, h, torch.ones(()))
        return self.c(h).mean((2, 3))
