"""expect: exit 0
Circular padding written by hand as F.pad does it: the map into the middle of a buffer, then each
border copied from the far edge, columns first over the buffer's whole height, so that for a while
they carry values not yet written (here 3e38, as uninitialised memory can hold); then a 3×3 conv.
Refused before, exit 1 no-bias, where those values dwarfed the activations copied beside them."""
from _backbone import PaddedByHand


class CircularPaddingByHand(PaddedByHand):
    def pad(self, h):
        buf = h.new_full((len(h), 8, 30, 30), 3e38)
        buf[:, :, 1:-1, 1:-1] = h
        buf[..., :1] = buf[..., -2:-1]
        buf[..., -1:] = buf[..., 1:2]
        buf[:, :, :1] = buf[:, :, -2:-1]
        buf[:, :, -1:] = buf[:, :, 1:2]
        return buf
