import torch
from torch import nn

from _backbone import features, gap_head


class BiasParam(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return self.body(x) + self.bias
