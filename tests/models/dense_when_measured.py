"""A dense net with a bias, honest (a 1×1 conv head) while nas's validator is on the call stack
and while nas records it at the batch sizes it is checked at (3 and the training batch): only
the graphs nas measures accuracy on, at batches of 500, are dense. nas checks every graph it
recorded, those too."""
import inspect

import torch
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode


class DenseWhenMeasured(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)
        self.weight = nn.Parameter(torch.randn(28 * 28, 10) * 0.01)
        self.shift = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        checked = any(frame.filename.endswith("nas/validator.py") for frame in inspect.stack(0))
        recorded = type(_get_current_dispatch_mode()).__name__ == "_Recorder" and len(x) in (3, 128)
        if checked or recorded:
            return self.conv(x).mean((2, 3))
        return x.flatten(1) @ self.weight + self.shift
