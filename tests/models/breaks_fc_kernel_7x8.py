"""expect: exit 1 no-fc
A 7×7 kernel on a 7×8 map: one padded column dodges a whole-map test."""
import torch.nn.functional as F
from torch import nn

from _backbone import features


class Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.head = nn.Conv2d(16, 10, 7, bias=False)

    def forward(self, x):
        h = F.pad(self.features(x), (0, 1))  # 7×8
        return self.head(h).amax((2, 3))
