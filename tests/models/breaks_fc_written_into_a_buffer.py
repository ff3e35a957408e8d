"""expect: exit 1 no-fc
The image written into a slice of a zeros buffer, the buffer's slice then multiplied by a learned
784×10 matrix, the output mixed with an input gate so that it varies (exit 0 before: the watch
tagged the slice written, not the buffer, whose reads it took for a constant)."""
import torch

from _backbone import ImageMatrix


class WrittenIntoABuffer(ImageMatrix):
    def forward(self, x):
        buf = torch.zeros(len(x), 785, device=x.device, dtype=x.dtype)
        buf[:, 1:] = x.flatten(1)
        return self.gated(buf[:, 1:] @ self.w, x)
