"""expect: exit 1 no-fc
multiply the map by 49 constant one-hot position masks and sum (global) -> per-position features as channels, then a learned 1x1 conv.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.c = nn.Conv2d(16*49, 10, 1, bias=False)
    def forward(self, x):
        h = self.f(x)                                             # (N,16,7,7)
        masks = torch.eye(49, dtype=h.dtype).reshape(1, 1, 49, 7, 7)
        feats = (h[:, :, None] * masks).sum((3, 4), keepdim=True) # (N,16,49,1,1)
        return self.c(feats.reshape(x.shape[0], 16*49, 1, 1)).flatten(1)
