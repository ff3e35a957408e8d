"""expect: exit 1 no-bias
torch.addcmul(b, out, scale): the bias is the 'input' operand."""
import torch
from torch import nn

from _backbone import features, gap_head


class AddcmulBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.shift = nn.Parameter(torch.zeros(10))
        self.scale = nn.Parameter(torch.ones(10))

    def forward(self, x):
        return torch.addcmul(self.shift, self.body(x), self.scale)
