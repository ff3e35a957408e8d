"""A small valid feature extractor the violation models share: 1×28×28 → 16×7×7."""

import torch
from torch import nn


def features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    )


def gap_head(channels: int = 16) -> nn.Sequential:
    """The allowed head: global average pooling, then a bias-free 1×1 conv to 10 classes."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, 10, 1, bias=False), nn.Flatten())


class LearnedMatrix(nn.Module):
    """Features plus a learned 10×16 matrix; subclasses show ways to use it in forward."""

    def __init__(self):
        super().__init__()
        self.features = features()
        self.weight = nn.Parameter(torch.randn(10, 16))
