"""expect: exit 1 no-fc
A 16×7×7 map written into channels of a buffer, then a 7×7 kernel over the buffer's slice: the
kernel spans the map (exit 0 before: the slice read from the buffer was taken for a constant)."""
import torch

from _backbone import WholeMapKernel


class KernelOnABuffer(WholeMapKernel):
    def forward(self, x):
        h = self.f(x)
        buf = h.new_zeros(len(x), 17, 7, 7)
        buf[:, 1:] = h
        dense = self.c(buf[:, 1:]).flatten(1)
        gate = (1 + 0.5 * torch.sigmoid(h.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * gate)
