"""Seed-style reference net: conv-BN-ReLU blocks, max-pool, 1×1 transition, GAP, 1×1 conv head.

14,770 total params (14,522 trainable + 248 BatchNorm running statistics), no bias, no FC.
"""

from torch import nn


def conv_bn(c_in: int, c_out: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class SeedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(conv_bn(1, 10), conv_bn(10, 16), conv_bn(16, 20))
        self.transition = nn.Sequential(nn.MaxPool2d(2), conv_bn(20, 10, kernel=1))
        self.block2 = nn.Sequential(conv_bn(10, 16), conv_bn(16, 16), conv_bn(16, 20), conv_bn(20, 16))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten())

    def forward(self, x):
        return self.head(self.block2(self.transition(self.block1(x))))
