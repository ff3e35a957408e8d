"""expect: exit 0
Three branches averaged with torch.stack(..., dim=-1).mean(-1): legal (exit 1 for a while, when a
stack along a trailing dimension was taken to fold the map)."""
import torch, torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.a = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b = nn.Conv2d(16, 16, 3, padding=2, dilation=2, bias=False)
        self.c = nn.Conv2d(16, 16, 1, bias=False)
        self.post = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten())
    def forward(self, x):
        h = self.stem(x)
        h = torch.stack([self.a(h), self.b(h), self.c(h)], dim=-1).mean(-1)
        return self.head(self.post(h))
