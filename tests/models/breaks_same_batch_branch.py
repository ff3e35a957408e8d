"""expect: exit 1 no-fc
A dense head only at the training batch size; small batches see a legal head."""
from torch import nn

from _backbone import LearnedMatrix


class BigBatchOnly(LearnedMatrix):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = self.features(x)
        if x.shape[0] >= 64:
            return h.mean((2, 3)) @ self.weight.T
        return self.head(h.mean((2, 3), keepdim=True)).flatten(1)
