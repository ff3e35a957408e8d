"""A legal net that, while nas records it, adds to each graph a convolution the file's process
never ran: a 64×64 kernel over an 8,192×8,192 map, about a minute on 2 cores each time nas's own
process replays it. Not a fault_ file: nas ends its own process over it (run it in a subprocess)."""
from _backbone import AltersItsRecording

SIDE, K = 8192, 64


class Slow(AltersItsRecording):
    def alter(self, nodes):
        nodes.append({"op": "aten.ones.default", "args": [[1, 1, SIDE, SIDE]], "kwargs": {}, "shape": [1, 1, SIDE, SIDE]})
        nodes.append({"op": "aten.ones.default", "args": [[1, 1, K, K]], "kwargs": {}, "shape": [1, 1, K, K]})
        nodes.append({"op": "aten.convolution.default", "args": [{"node": len(nodes) - 2}, {"node": len(nodes) - 1},
                                                                 None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1],
                      "kwargs": {}, "shape": [1, 1, SIDE - K + 1, SIDE - K + 1]})
