"""expect: exit 1 no-bias strict
A functional batch_norm with a learned shift: allowed by default, a bias under --strict."""
import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features, gap_head


class FunctionalNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        self.head = gap_head()
        self.gain = nn.Parameter(torch.ones(16))
        self.shift = nn.Parameter(torch.zeros(16))

    def forward(self, x):
        h = F.batch_norm(self.features(x), None, None, self.gain, self.shift, training=True)
        return self.head(h)
