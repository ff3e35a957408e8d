"""expect: exit 1 no-fc
The 16×7×7 map's 784 values written one per channel into a buffer (at position 0, 0), after a
decoy 8×8 map written into channel 0; a 1×1 conv read at position 0, 0 is then a dense layer
(exit 0 before: of two writes, the buffer kept the larger one's layout only)."""
import torch.nn.functional as F
from torch import nn

from _backbone import features


class WrittenAcrossChannels(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = features()
        self.head = nn.Conv2d(785, 10, 1, bias=False)

    def forward(self, x):
        h = self.f(x)
        n = len(x)
        buf = h.new_zeros(n, 785, 8, 8)
        buf[:, 0] = F.adaptive_avg_pool2d(x, 8)[:, 0]
        buf[:, 1:, 0, 0].view(n, 16, 7, 7).copy_(h)
        return self.head(buf)[:, :, 0, 0]
