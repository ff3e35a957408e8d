"""expect: exit 1 no-fc
The 7×7 map upsampled ×4 (nearest) to 28×28, then a 7×7 kernel with dilation 4 (extent 25):
each output reads all 49 real positions once, with its own weight (exit 0 before: interpolation
was taken for an element-by-element operation, and the kernel judged on 28×28)."""
import torch.nn.functional as F

from _backbone import WholeMapKernel


class DilatedKernelOnAnUpsampledMap(WholeMapKernel):
    dilation = 4

    def forward(self, x):
        h = F.interpolate(self.f(x), scale_factor=4, mode="nearest")
        return self.c(h).mean((2, 3))
