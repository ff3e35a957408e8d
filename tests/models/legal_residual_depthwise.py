"""expect: exit 0
Residual sums, depthwise-separable convs, GroupNorm, strided and dilated convs, avg pooling."""
from torch import nn


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=2, dilation=2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
            nn.GroupNorm(4, c), nn.ReLU())

    def forward(self, x):
        return x + self.body(x)


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(Block(16), nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
                                    Block(32), nn.AvgPool2d(2), Block(32))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 10, 1, bias=False), nn.Flatten())

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))
