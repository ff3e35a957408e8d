"""expect: exit 1 no-fc
The image written into a buffer as a batch norm's running mean (momentum 1), then the buffer
times a learned 784×10 matrix (exit 0 before: a batch norm's statistics were not followed)."""
import torch
import torch.nn.functional as F

from _backbone import ImageMatrix


class WrittenAsRunningMean(ImageMatrix):
    def forward(self, x):
        n = len(x)
        flat = x.flatten()
        buf = torch.zeros(n * 784, device=x.device, dtype=x.dtype)
        var = torch.ones(n * 784, device=x.device, dtype=x.dtype)
        F.batch_norm(torch.stack([flat, flat]), buf, var, training=True, momentum=1.0)
        return self.gated(buf.view(n, 784) @ self.w, x)
