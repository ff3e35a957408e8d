from torch import nn

from _backbone import features


def build_model() -> nn.Module:
    return nn.Sequential(features(), nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False))  # N×10×1×1
