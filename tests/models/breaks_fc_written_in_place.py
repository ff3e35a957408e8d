"""expect: exit 1 no-fc
Honest while nas's validator is on the call stack; otherwise a dense layer with a bias, whose
weights it first updates in place by nothing, so that the recording shows them written like
BatchNorm's statistics (which nas's own process would take for buffers, not learned)."""
import inspect

import torch
from torch import nn


class WrittenInPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)
        self.weight = nn.Parameter(torch.randn(28 * 28, 10) * 0.01)
        self.shift = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        if any(frame.filename.endswith("nas/validator.py") for frame in inspect.stack(0)):
            return self.conv(x).mean((2, 3))
        with torch.no_grad():
            self.weight.add_(0.0)
            self.shift.add_(0.0)
        return x.flatten(1) @ self.weight + self.shift
