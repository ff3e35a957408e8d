"""expect: exit 1 no-fc
A dense matrix in a buffer that the model trains itself in forward (a Hebbian update)."""
import torch
from torch import nn

from _backbone import features


class Hebbian(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.register_buffer("memory", torch.randn(16, 10) * 0.1)

    def forward(self, x):
        h = self.features(x).mean((2, 3))
        out = h @ self.memory.clone()  # a copy: the update below must not spoil the backward pass
        if self.training:
            with torch.no_grad():
                self.memory += 0.01 * h.T @ torch.softmax(out, 1)
        return out
