from torch import nn


class Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("shape mismatch in block 2")
