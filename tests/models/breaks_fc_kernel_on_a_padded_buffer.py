"""expect: exit 1 no-fc
A 7×7 map written into the middle of a 9×9 zeros buffer, then a 7×7 kernel: each output sees
most of the map, as a kernel over the map zero-padded with F.pad would."""
from _backbone import WholeMapKernel


class KernelOnAPaddedBuffer(WholeMapKernel):
    def forward(self, x):
        h = self.f(x)
        buf = h.new_zeros(len(x), 16, 9, 9)
        buf[:, :, 1:-1, 1:-1] = h
        return self.c(buf).mean((2, 3))
