"""expect: exit 2 within
A forward pass that loops forever: judged with a time limit."""
from torch import nn


class Forever(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, bias=False)

    def forward(self, x):
        while True:
            x = x + 0
