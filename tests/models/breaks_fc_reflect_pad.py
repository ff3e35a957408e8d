"""expect: exit 1 no-fc
Reflect padding makes a 7×7 kernel look smaller than the 13×13 map, but it spans the whole real 7×7
map (exit 0 before: only zero padding was known as border)."""
import torch.nn.functional as F

from _backbone import WholeMapKernel


class ReflectPadded(WholeMapKernel):
    def forward(self, x):
        h = F.pad(self.f(x), (3, 3, 3, 3), mode="reflect")
        return self.c(h)[:, :, 3, 3]
