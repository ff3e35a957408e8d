"""expect: exit 1 no-fc
An in-place bernoulli_ with a 0/1 probability tensor copies it: 8 bit planes of the image taken for
fresh random masks, then a 784→10 matrix product (exit 0 before: an in-place draw was a constant
whatever it drew from)."""
import torch, torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) * 0.01)
    def forward(self, x):
        q = torch.round(torch.sigmoid(x.flatten(1)) * 255)
        acc = 0
        for i in range(8):
            bit = torch.floor(q / 2 ** i) % 2
            acc = acc + torch.empty_like(bit).bernoulli_(bit) * 2 ** i
        flat = acc / 255
        dense = flat @ self.w
        s = (1 + 0.5 * torch.sigmoid(x.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * s)
