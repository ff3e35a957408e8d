"""expect: exit 1 no-fc
torch.take gathers all 784 values into the channels of a 1×1 map, and a 1×1 conv on it is a dense
layer (exit 0 before: take was not known to move positions)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))
        self.c = nn.Conv2d(16 * 49, 10, 1, bias=False)
    def forward(self, x):
        h = self.f(x)
        n = len(x)
        idx = (torch.arange(n, device=x.device)[:, None] * 784 + torch.arange(784, device=x.device)[None, :])
        cols = torch.take(h, idx.view(n, 784, 1, 1))
        return self.c(cols).flatten(1)
