"""expect: exit 1 no-fc
PixelUnshuffle over the whole 7×7 map puts every position in a channel; a 1×1 conv then is dense."""
from torch import nn

from _backbone import features


class Unshuffled(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(features(), nn.PixelUnshuffle(7), nn.Conv2d(16 * 49, 10, 1, bias=False),
                                 nn.Flatten())

    def forward(self, x):
        return self.net(x)
