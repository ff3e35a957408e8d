"""expect: exit 0
learned mix of max and avg global pooling a*max + (1-a)*avg, plus attention pooling (softmax over positions of an input-dependent map).
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.head = nn.Conv2d(16, 10, 1, bias=False); self.a = nn.Parameter(torch.tensor(0.5))
        self.att = nn.Conv2d(16, 1, 1, bias=False)
    def forward(self, x):
        y = self.head(self.f(x))
        w = torch.softmax(self.att(self.f(x)).flatten(2), -1)     # (N,1,49)
        pooled = (y.flatten(2) * w).sum(-1)
        return self.a * y.amax((2, 3)) + (1 - self.a) * y.mean((2, 3)) + pooled
