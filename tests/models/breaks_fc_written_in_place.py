"""expect: exit 1 no-fc
Honest while nas's validator is on the call stack; otherwise a dense layer with a bias, whose
weights it first updates in place by nothing, so that the recording shows them written like
BatchNorm's statistics (which nas's own process would take for buffers, not learned)."""
import torch

from _backbone import TwoFaced


class WrittenInPlace(TwoFaced):
    def forward(self, x):
        if not self.honest(x):
            with torch.no_grad():
                self.weight.add_(0.0)
                self.shift.add_(0.0)
        return super().forward(x)
