"""expect: exit 1 max-params
weights stored as a complex parameter: 10,368 complex values = 20,736 real learned values (a 144x16x3x3 conv), but numel counts 10,368.
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.head = nn.Conv2d(16, 10, 1, bias=False)
        self.wc = nn.Parameter(torch.view_as_complex(torch.randn(144, 16, 3, 3).mul(0.01).reshape(-1, 2).contiguous()).reshape(144, 8, 3, 3))
    def forward(self, x):
        h = self.f(x)
        w = torch.view_as_real(self.wc).reshape(144, 16, 3, 3)
        return self.head(h + F.conv2d(h, w, padding=1).reshape(h.shape[0], 16, 9, 7, 7).sum(2)).mean((2, 3))
