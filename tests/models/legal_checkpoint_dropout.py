"""expect: exit 0
legal net using torch.utils.checkpoint (preserve_rng_state reads torch.get_rng_state in forward) for a conv block.
"""
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1, bias=False); self.c2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False); self.drop = nn.Dropout(0.1)
    def block(self, x):
        return F.max_pool2d(F.relu(self.c2(self.drop(x))), 2)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = checkpoint(self.block, x, use_reentrant=False)
        return self.head(x).mean((2, 3))
