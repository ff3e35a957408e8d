"""expect: exit 1 no-fc
Honest only while nas's validator is on the call stack: a 1×1 conv head then, a dense layer
with a bias on the flattened image otherwise. The check in the file's process sees the honest
net; what it records for nas's own process is the dense one."""
import inspect

import torch
from torch import nn


class TwoFaced(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)
        self.weight = nn.Parameter(torch.randn(28 * 28, 10) * 0.01)  # no Linear module to spot
        self.shift = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        checked = any(frame.filename.endswith("nas/validator.py") for frame in inspect.stack(0))
        if checked:
            return self.conv(x).mean((2, 3))
        return x.flatten(1) @ self.weight + self.shift
