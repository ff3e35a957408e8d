"""expect: exit 1 no-fc
Activations lifted by aten.lift_fresh_copy, as torch.tensor(...) lifts a constant, then a 784→10
matrix product (exit 0 before: whatever was lifted was tagged a constant)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) * 0.01)
    def forward(self, x):
        flat = torch.ops.aten.lift_fresh_copy.default(x.flatten(1))
        dense = flat @ self.w
        s = (1 + 0.5 * torch.sigmoid(x.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * s)
