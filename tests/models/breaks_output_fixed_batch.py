"""expect: exit 1 output-shape
Always returns two rows, whatever the batch (a checker that tries batch 2 only is fooled)."""
from torch import nn

from _backbone import features, gap_head


class TwoRows(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())

    def forward(self, x):
        return self.body(x[:2])
