"""expect: exit 1 no-fc
49 rolled copies of a 7×7 map stacked into channels, a 1×1 conv, one position: every output sees
every position with its own weight (exit 0 before: roll was not known to move positions)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))
        self.c = nn.Conv2d(16 * 49, 10, 1, bias=False)
    def forward(self, x):
        h = self.f(x)
        s = torch.cat([torch.roll(h, (i, j), (2, 3)) for i in range(7) for j in range(7)], 1)
        return self.c(s)[:, :, 0, 0]
