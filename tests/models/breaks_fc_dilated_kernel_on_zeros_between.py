"""expect: exit 1 no-fc
The 7×7 map written with zeros between its values into a 14×14 buffer, then a 7×7 kernel with
dilation 2 (extent 13): its output at (0, 0) reads the whole map (exit 0 before: the spread map
was judged as 14×14)."""
import torch.nn.functional as F

from _backbone import WholeMapKernel


class DilatedKernelOnZerosBetween(WholeMapKernel):
    dilation = 2

    def forward(self, x):
        h = self.f(x)
        buf = h.new_zeros(len(x), 16, 14, 14)
        buf[:, :, ::2, ::2] = h
        return F.max_pool2d(self.c(buf), 2).flatten(1)
