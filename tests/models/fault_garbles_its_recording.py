"""expect: exit 2 does not replay
A legal net that, while nas records it, adds to the recording a node the file's process never
ran: an index past the end of a list."""
from _backbone import AltersItsRecording


class Garbler(AltersItsRecording):
    def alter(self, nodes):
        nodes.append({"op": "getitem", "args": [[0], 5]})
