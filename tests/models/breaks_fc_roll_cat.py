"""expect: exit 1 no-fc
49 rolled copies of a 7×7 map stacked into channels, a 1×1 conv, one position: every output sees
every position with its own weight (exit 0 before: roll was not known to move positions)."""
import torch

from _backbone import PositionsAsChannels


class RolledCopies(PositionsAsChannels):
    def forward(self, x):
        h = self.f(x)
        s = torch.cat([torch.roll(h, (i, j), (2, 3)) for i in range(7) for j in range(7)], 1)
        return self.c(s)[:, :, 0, 0]
