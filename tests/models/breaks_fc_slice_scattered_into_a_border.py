"""expect: exit 1 no-fc
The 7×7 map slice_scatter-ed into the middle of a 9×9 zeros buffer, then a 7×7 kernel: as
breaks_fc_kernel_on_a_padded_buffer.py, without a write in place (exit 0 before)."""
import torch

from _backbone import WholeMapKernel


class SliceScatteredIntoABorder(WholeMapKernel):
    def forward(self, x):
        h = self.f(x)
        n = len(x)
        h = torch.slice_scatter(h.new_zeros(n, 16, 7, 9), h, 3, 1, 8)
        h = torch.slice_scatter(h.new_zeros(n, 16, 9, 9), h, 2, 1, 8)
        return self.c(h).mean((2, 3))
