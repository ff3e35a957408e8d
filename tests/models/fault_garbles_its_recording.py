"""expect: exit 2 does not replay
A legal net that, while nas records it, adds to the recording a node the file's process never
ran: an index past the end of a list."""
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode


class Garbler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)

    def forward(self, x):
        mode = _get_current_dispatch_mode()
        if type(mode).__name__ == "_Recorder":
            mode.nodes.append({"op": "getitem", "args": [[0], 5]})
        return self.conv(x).mean((2, 3))
