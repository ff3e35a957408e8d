"""expect: exit 2 before a verdict
os._exit(0) in forward: the process ends without any Python cleanup."""
import os

from torch import nn

from _backbone import features, gap_head


class Quitter(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())

    def forward(self, x):
        os._exit(0)
