"""expect: exit 1 no-fc
The 7×7 map tiled 2×2 by torch.cat of itself, then a 7×7 kernel whose output at (0, 0) spans one
whole copy: a dense layer (exit 0 before: the copies were summed into a 14×14 real map)."""
import torch

from _backbone import WholeMapKernel


class KernelOnTiledCopies(WholeMapKernel):
    def forward(self, x):
        h = self.f(x)
        h = torch.cat([h, h], 3)
        h = torch.cat([h, h], 2)
        return self.c(h)[:, :, 0, 0]
