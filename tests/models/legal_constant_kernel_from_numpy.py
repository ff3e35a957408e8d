"""expect: exit 0
Anti-aliased pooling with a fixed blur kernel made from numpy in each forward, of two shapes: legal.
nas's own process sometimes replayed it with the other kernel (exit 2, 1 in 9 runs): a constant
given an earlier one's place was freed, and a later one took its id."""
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
K = np.outer([1., 2., 1.], [1., 2., 1.]).astype(np.float32) / 16
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, bias=False); self.c2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.c3 = nn.Conv2d(32, 32, 3, padding=1, bias=False); self.head = nn.Conv2d(32, 10, 1, bias=False)
    def blur(self, h):
        k = torch.from_numpy(np.tile(K, (h.shape[1], 1, 1, 1)))
        return F.conv2d(h, k, stride=2, padding=1, groups=h.shape[1])
    def forward(self, x):
        h = self.blur(torch.relu(self.c1(x)))
        h = self.blur(torch.relu(self.c2(h)))
        h = torch.relu(self.c3(h))
        return self.head(h).mean((2, 3))
