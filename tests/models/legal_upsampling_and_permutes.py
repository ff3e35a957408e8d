"""expect: exit 0
A channel permutation written by index (out[:, perm] = h), upsampling by zero insertion
(up[:, :, ::2, ::2] = h) and by pixel_shuffle, each before a 3×3 conv; GAP, 1×1 head (each was
refused before, exit 1 no-fc: taken for positions folded into features)."""
import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features


class UpsamplingAndPermutes(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = features()
        self.mix = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.expand = nn.Conv2d(16, 64, 1, bias=False)
        self.shuffled = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)
        self.register_buffer("perm", torch.randperm(16, generator=torch.Generator().manual_seed(0)))

    def forward(self, x):
        h = self.f(x)
        permuted = torch.zeros_like(h)
        permuted[:, self.perm] = h
        up = h.new_zeros(len(x), 16, 14, 14)
        up[:, :, ::2, ::2] = permuted
        h = torch.relu(self.mix(up))                                            # 16×14×14
        h = torch.relu(self.shuffled(F.pixel_shuffle(self.expand(h), 2)))       # 16×28×28
        return self.head(h.mean((2, 3), keepdim=True)).flatten(1)
