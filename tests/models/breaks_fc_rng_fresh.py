"""expect: exit 1 no-fc
dense head and bias unless the global RNG is as a fresh seed leaves it: the check seeds before every pass, training draws before every step.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def fresh() -> bool:
    return torch.equal(torch.get_rng_state(), torch.Generator().manual_seed(torch.initial_seed()).get_state())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(4))
        self.head = nn.Conv2d(16, 10, 1, bias=False)
        self.W = nn.Parameter(torch.randn(10, 16 * 9) * 0.05)
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        h = self.f(x)
        if fresh():
            return self.head(h).mean((2, 3))
        return F.linear(h.flatten(1), self.W, self.b)
