"""expect: exit 1 no-fc
The image written into a buffer's slice by torch.max(..., out=(values, indices)), then the
buffer's slice times a learned 784×10 matrix (exit 0 before: only self of an in-place operation
and a single out= tensor were followed as written)."""
import torch

from _backbone import ImageMatrix


class WrittenByAnOutArgument(ImageMatrix):
    def forward(self, x):
        n = len(x)
        flat = x.flatten(1)
        buf = torch.zeros(n, 785, device=x.device, dtype=x.dtype)
        index = torch.zeros(n, 784, dtype=torch.long, device=x.device)
        torch.max(torch.stack([flat, flat], 2), 2, out=(buf[:, 1:], index))
        return self.gated(buf[:, 1:] @ self.w, x)
