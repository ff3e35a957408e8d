"""expect: exit 1 consistent
A model that looks for a dispatch mode and shows a legal head only when watched."""
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode

from _backbone import LearnedMatrix


class ModeAware(LearnedMatrix):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        if _get_current_dispatch_mode() is None:
            return h.flatten(1) @ self.weight.T
        return self.head(h).flatten(1)
