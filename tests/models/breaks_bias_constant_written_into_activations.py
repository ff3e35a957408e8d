"""expect: exit 1 no-bias
A constant written in place into a channel of the activations (h[:, 0] = 1.0), then a 1×1 conv:
its weights on that channel are a bias (refused before only by chance, as values beside a write)."""
import torch

from _backbone import ExtraChannel


class ConstantWrittenIntoActivations(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        h = torch.cat([h, h[:, :1]], 1)
        h[:, 0] = 1.0
        return self.head(h).flatten(1)
