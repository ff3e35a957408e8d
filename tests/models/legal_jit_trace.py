"""expect: exit 0
A TorchScript trace of a legal net: its BatchNorm shifts are not biases."""
import torch
from torch import nn


def build_model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten())
    return torch.jit.trace(net, torch.randn(2, 1, 28, 28))
