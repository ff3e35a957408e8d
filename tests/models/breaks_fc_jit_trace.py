"""expect: exit 1 no-fc
A TorchScript trace of a net with a Linear head."""
import torch
from torch import nn

from _backbone import features


def build_model():
    torch.manual_seed(0)
    net = nn.Sequential(features(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10, bias=False))
    return torch.jit.trace(net, torch.randn(2, 1, 28, 28))
