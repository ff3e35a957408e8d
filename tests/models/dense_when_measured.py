"""A dense net with a bias, honest (a 1×1 conv head) while nas's validator is on the call stack
and while nas records it at the batch sizes it is checked at (3 and the training batch): only
the graphs nas measures accuracy on, at batches of 500, are dense. nas checks every graph it
recorded, those too."""
from torch.utils._python_dispatch import _get_current_dispatch_mode

from _backbone import TwoFaced


class DenseWhenMeasured(TwoFaced):
    def honest(self, x):
        recorded = type(_get_current_dispatch_mode()).__name__ == "_Recorder"
        return super().honest(x) or (recorded and len(x) in (3, 128))
