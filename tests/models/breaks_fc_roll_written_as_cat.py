"""expect: exit 1 no-fc
breaks_fc_roll_cat.py with each roll written out as torch.cat of the map's own slices, out of
their order (exit 0 before: what is joined beside a map was taken for a border)."""
import torch

from _backbone import PositionsAsChannels


def rolled(h, i, j):
    h = torch.cat([h[:, :, i:], h[:, :, :i]], 2) if i else h
    return torch.cat([h[:, :, :, j:], h[:, :, :, :j]], 3) if j else h


class RollWrittenAsCat(PositionsAsChannels):
    def forward(self, x):
        h = self.f(x)
        s = torch.cat([rolled(h, i, j) for i in range(7) for j in range(7)], 1)
        return self.c(s)[:, :, 0, 0]
