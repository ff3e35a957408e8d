"""expect: exit 1 no-fc
space-to-depth with a CONSTANT one-hot 7x7 conv kernel built in forward (not learned, so unjudged), giving a 1x1 map of 784 channels, then a learned 1x1 conv = dense layer.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.c = nn.Conv2d(16*49, 10, 1, bias=False)
    def forward(self, x):
        h = self.f(x)
        eye = torch.eye(49, dtype=h.dtype).reshape(49, 1, 7, 7).repeat(16, 1, 1, 1)   # (784,1,7,7)
        s2d = F.conv2d(h, eye, groups=16)                                           # (N,784,1,1)
        return self.c(s2d).flatten(1)
