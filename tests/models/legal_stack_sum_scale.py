"""expect: exit 0
Two branches summed with torch.stack(...).sum(0), then a learned per-channel scale: legal (exit 1
before: after stack the channels were taken for a spatial dimension)."""
import torch, torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, bias=False); self.a = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b = nn.Conv2d(16, 16, 1, bias=False); self.gamma = nn.Parameter(torch.ones(1, 16, 1, 1))
        self.head = nn.Conv2d(16, 10, 1, bias=False); self.pool = nn.MaxPool2d(2)
    def forward(self, x):
        h = self.pool(torch.relu(self.c1(x)))
        h = torch.stack([self.a(h), self.b(h)]).sum(0) * self.gamma
        return self.head(self.pool(torch.relu(h))).mean((2, 3))
