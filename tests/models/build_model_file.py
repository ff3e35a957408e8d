from torch import nn

from _backbone import features, gap_head


def build_model() -> nn.Module:
    return nn.Sequential(features(), gap_head())
