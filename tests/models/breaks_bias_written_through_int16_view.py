"""expect: exit 1 no-bias
A buffer of ones with the features copied into its channels 1-16 through int16 views of both
(exit 0 before: which values held activations was kept per int16, and a float32 read not judged)."""
import torch

from _backbone import ExtraChannel


class WrittenThroughInt16View(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        buf = torch.ones(len(x), 17, 1, 1, device=x.device, dtype=h.dtype)
        buf.view(torch.int16)[:, 1:].copy_(h.view(torch.int16))
        return self.head(buf).flatten(1)
