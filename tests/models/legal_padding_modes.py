"""expect: exit 0
3×3 convs with padding_mode reflect, replicate and circular on 28×28, 14×14 and 7×7 maps, BN,
GAP head (circular padding was refused before, exit 1 consistent: it writes the map into a
larger tensor, which the watch took for a constant)."""
from torch import nn


def block(inputs: int, outputs: int, mode: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, padding=1, padding_mode=mode, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU())


class PaddingModes(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(block(1, 8, "reflect"), nn.MaxPool2d(2), block(8, 16, "replicate"), nn.MaxPool2d(2),
                                  block(16, 16, "circular"), block(16, 16, "reflect"), block(16, 16, "circular"))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten())

    def forward(self, x):
        return self.head(self.body(x))
