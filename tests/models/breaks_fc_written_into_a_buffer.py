"""expect: exit 1 no-fc
The image written into a slice of a zeros buffer, the buffer's slice then multiplied by a learned
784×10 matrix, the output mixed with an input gate so that it varies (exit 0 before: the watch
tagged the slice written, not the buffer, whose reads it took for a constant)."""
import torch
from torch import nn


class WrittenIntoABuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) * 0.01)

    def forward(self, x):
        buf = torch.zeros(len(x), 785, device=x.device, dtype=x.dtype)
        buf[:, 1:] = x.flatten(1)
        dense = buf[:, 1:] @ self.w
        gate = (1 + 0.5 * torch.sigmoid(x.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * gate)
