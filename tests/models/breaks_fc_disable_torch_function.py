"""expect: exit 1 no-fc
A matmul head run with torch functions disabled, where a function mode sees nothing."""
import torch

from _backbone import LearnedMatrix


class HiddenHead(LearnedMatrix):
    def forward(self, x):
        h = self.features(x).mean((2, 3))
        with torch._C.DisableTorchFunction():
            return torch.matmul(h, self.weight.t())
