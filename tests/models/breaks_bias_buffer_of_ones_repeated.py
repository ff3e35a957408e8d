"""expect: exit 1 no-bias
breaks_bias_buffer_of_ones.py read through .repeat, a copy (exit 0 before: the values beside the
written map were looked at only where a view of the buffer was read)."""
import torch

from _backbone import ExtraChannel


class BufferOfOnesRepeated(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        buf = torch.ones(len(x), 17, 1, 1, device=x.device, dtype=h.dtype)
        buf[:, 1:] = h
        return self.head(buf.repeat(1, 1, 1, 1)).flatten(1)
