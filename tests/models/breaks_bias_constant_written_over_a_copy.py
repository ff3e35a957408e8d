"""expect: exit 1 no-bias
Activations copied into the whole of a buffer, then a ones channel written over them with fill_
(exit 0 before: a value once written with activations stayed marked so)."""
import torch

from _backbone import ExtraChannel


class ConstantWrittenOverACopy(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        h = torch.cat([h, h[:, :1]], 1)
        buf = torch.zeros_like(h)
        buf.copy_(h)
        buf[:, 0].fill_(1.0)
        return self.head(buf).flatten(1)
