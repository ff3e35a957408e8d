"""expect: exit 1 no-bias
The classic trick: a constant-1 channel concatenated before a conv, whose weights on it are a bias."""
import torch

from _backbone import ExtraChannel


class OnesChannel(ExtraChannel):
    def forward(self, x):
        h = self.features(x).mean((2, 3), keepdim=True)
        h = torch.cat([h, torch.ones_like(h[:, :1])], 1)
        return self.head(h).flatten(1)
