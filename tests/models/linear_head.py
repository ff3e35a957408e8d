from torch import nn

from _backbone import features


class LinearHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))
