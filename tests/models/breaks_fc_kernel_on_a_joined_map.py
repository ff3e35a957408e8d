"""expect: exit 1 no-fc
A 7×7 map joined with zeros by torch.cat into 13×13, then a 7×7 kernel whose middle output spans
the whole real map (exit 0 before: only F.pad's zeros were known as border)."""
import torch

from _backbone import WholeMapKernel


class KernelOnAJoinedMap(WholeMapKernel):
    def forward(self, x):
        h = self.f(x)
        side = h.new_zeros(len(x), 16, 7, 3)
        h = torch.cat([side, h, side], 3)
        top = h.new_zeros(len(x), 16, 3, 13)
        h = torch.cat([top, h, top], 2)
        return self.c(h)[:, :, 3, 3]
