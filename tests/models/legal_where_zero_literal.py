"""expect: exit 0
A ReLU written as torch.where(h > 0, h, torch.tensor(0.0)): zeros in place of activations (exit 1
no-bias before: nas's own process replayed the zero as a learned value)."""
import torch
from torch import nn


class WhereZeroLiteral(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 10, 3, padding=1, bias=False)

    def forward(self, x):
        h = self.a(x)
        h = torch.where(h > 0, h, torch.tensor(0.0, device=x.device))
        return self.b(h).mean((2, 3))
