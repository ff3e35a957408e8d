"""expect: exit 1 no-fc
dense head when autograd is off, as it is while a model is evaluated.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.head = nn.Conv2d(16, 10, 1, bias=False)
        self.W = nn.Parameter(torch.randn(10, 16*49) * 0.01)
    def honest(self, h):
        return self.head(h).mean((2, 3))
    def dense(self, h):
        return F.linear(h.flatten(1), self.W)
    def forward(self, x):
        h = self.f(x)
        if not torch.is_grad_enabled():
            return self.dense(h)
        return self.honest(h)
