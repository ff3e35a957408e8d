"""expect: exit 1 no-fc
torch.normal(x, 0.0) is x, taken for a fresh random tensor, then a 784→10 matrix product (exit 0
before: a draw from activations' values was tagged a constant)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) * 0.01)
    def forward(self, x):
        flat = torch.normal(x.flatten(1), 0.0)
        dense = flat @ self.w
        s = (1 + 0.5 * torch.sigmoid(x.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * s)
