"""expect: exit 1 consistent
A dense head computed in numpy, out of the watcher's sight, added to a conv net's output that
is multiplied by zero (so the sum's watched part does not depend on the input at all)."""
import numpy as np
import torch
from torch import nn


class NumpyHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)
        self.dense = np.random.default_rng(0).normal(size=(28 * 28, 10)).astype(np.float32) * 0.01

    def forward(self, x):
        hidden = torch.from_numpy(x.detach().flatten(1).numpy() @ self.dense)
        return self.conv(x).mean((2, 3)) * 0 + hidden
