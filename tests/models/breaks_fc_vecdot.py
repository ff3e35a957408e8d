"""expect: exit 1 no-fc
A dense head written with torch.linalg.vecdot."""
import torch

from _backbone import LearnedMatrix


class VecdotHead(LearnedMatrix):
    def forward(self, x):
        h = self.features(x).mean((2, 3))
        return torch.linalg.vecdot(h.unsqueeze(1), self.weight)
