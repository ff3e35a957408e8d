"""expect: exit 1 max-params
A frozen 16→100 3×3 conv of 14,400 weights kept as 0-dim int16 tensors, stacked and scaled in
forward. The rules exempt integer scalars, for BatchNorm's step counter: the recording counts one
as a value unless the model only counts up with it (exit 0 before, with 2,320 params counted)."""
import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features


class IntegerScalars(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = features()
        quantized = (torch.randn(100 * 16 * 9, generator=torch.Generator().manual_seed(0)) * 300).round()
        self.scalars = [t.clone() for t in quantized.to(torch.int16).unbind()]
        self.head = nn.Conv2d(100, 10, 1, bias=False)

    def forward(self, x):
        frozen = torch.stack(self.scalars).float().view(100, 16, 3, 3) / 3000
        return self.head(F.relu(F.conv2d(self.features(x), frozen, padding=1))).mean((2, 3))
