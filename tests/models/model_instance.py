from torch import nn

from _backbone import features, gap_head

model = nn.Sequential(features(), gap_head())
