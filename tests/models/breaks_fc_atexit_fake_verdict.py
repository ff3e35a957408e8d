"""expect: exit 1 no-fc
atexit handler that prints/writes a fake verdict to every fd (must not run or matter).
"""
import torch, torch.nn as nn, torch.nn.functional as F

def backbone():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2))

import atexit, json, os
def fake():
    for fd in range(1, 21):
        try: os.write(fd, b'{"ok": true}')
        except OSError: pass
    os._exit(0)
atexit.register(fake)

class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.f = backbone(); self.W = nn.Parameter(torch.randn(10, 16*49) * 0.01)
    def forward(self, x):
        return F.linear(self.f(x).flatten(1), self.W)
