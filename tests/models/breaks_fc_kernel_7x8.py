"""expect: exit 1 no-fc
A 7×7 kernel on a 7×8 map: one padded column dodges a whole-map test."""
import torch.nn.functional as F

from _backbone import WholeMapKernel


class Padded(WholeMapKernel):
    def forward(self, x):
        h = F.pad(self.f(x), (0, 1))  # 7×8
        return self.c(h).amax((2, 3))
