"""expect: exit 1 no-fc
A TorchScript function doing the dense product."""
import torch
import torch.nn.functional as F

from _backbone import LearnedMatrix


@torch.jit.script
def project(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.linear(h, w)


class ScriptedHead(LearnedMatrix):
    def forward(self, x):
        return project(self.features(x).mean((2, 3)), self.weight)
