"""A legal net that, while nas records it, adds to each graph a convolution the file's process
never ran: a 64×64 kernel over an 8,192×8,192 map, about a minute on 2 cores each time nas's own
process replays it. Not a fault_ file: nas ends its own process over it (run it in a subprocess)."""
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode

SIDE, K = 8192, 64


class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)

    def forward(self, x):
        mode = _get_current_dispatch_mode()
        if type(mode).__name__ == "_Recorder":
            n = mode.nodes
            n.append({"op": "aten.ones.default", "args": [[1, 1, SIDE, SIDE]], "kwargs": {}, "shape": [1, 1, SIDE, SIDE]})
            n.append({"op": "aten.ones.default", "args": [[1, 1, K, K]], "kwargs": {}, "shape": [1, 1, K, K]})
            n.append({"op": "aten.convolution.default", "args": [{"node": len(n) - 2}, {"node": len(n) - 1}, None,
                                                                 [1, 1], [0, 0], [1, 1], False, [0, 0], 1],
                      "kwargs": {}, "shape": [1, 1, SIDE - K + 1, SIDE - K + 1]})
        return self.conv(x).mean((2, 3))
