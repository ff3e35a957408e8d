"""expect: exit 1 no-fc
zero-pad the 7x7 map to 8x8 first, so the 7x7 kernel is 'smaller than the map'; output pixel (0,0) sees exactly the whole original map.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.c = nn.Conv2d(16, 10, 7, bias=False)
    def forward(self, x):
        return self.c(F.pad(self.f(x), (0, 1, 0, 1)))[:, :, 0, 0]
