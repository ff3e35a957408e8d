"""expect: exit 1 no-fc
A dense head in train mode only; eval mode shows a legal head."""
from torch import nn

from _backbone import LearnedMatrix


class TrainOnly(LearnedMatrix):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = self.features(x)
        if self.training:
            return h.mean((2, 3)) @ self.weight.T
        return self.head(h.mean((2, 3), keepdim=True)).flatten(1)
