"""A legal model that fails only once trained for a while: at its CALLS-th call (past every
check's calls) it does what $NAS_TEST_FAILURE says: "raise" (the default), "exit" (sys.exit(0)),
"os-exit" (os._exit(0), which no handler sees), "hang" (loops forever), "patch" (makes nas's
accuracy read 100%, then trains on; "patch-code" by swapping the function's code in place,
"patch-tensor" by adding a Tensor.argmax over the C one's), "dense" (trains on as a dense layer over the pixels of
its feature maps, with a weight it held from the start), or "dense-hidden" (that, and it swaps the
check after training for one that puts the real one back and checks a legal twin)."""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

from _backbone import features, gap_head

CALLS = 40  # the checks make 10-14 calls; 2 epochs of 20 steps make 42
FAILURE = os.environ.get("NAS_TEST_FAILURE", "raise")


def fail(calls: int) -> None:
    if FAILURE == "exit":
        sys.exit(0)
    if FAILURE == "os-exit":
        os._exit(0)
    if FAILURE == "hang":
        while True:
            pass
    if FAILURE == "patch":
        import nas.train

        nas.train.measure = lambda model, images, labels: (0.0, 1.0)
        return
    if FAILURE == "patch-code":
        import nas.train

        measure = nas.train.measure
        getattr(measure, "__wrapped__", measure).__code__ = (lambda model, images, labels: (0.0, 1.0)).__code__
        return
    if FAILURE == "patch-tensor":
        torch.Tensor.argmax = lambda self, *args, **kwargs: torch._C.TensorBase.argmax(self, *args, **kwargs)
        return
    raise RuntimeError(f"failed at call {calls}")


def hide_the_turn() -> None:
    import nas.train

    check = nas.train.check

    def lenient(model, *args, **kwargs):
        nas.train.check = check  # undone before the end, where nas compares with what it held at the start
        return check(FailsLater().body, *args, **kwargs)
    nas.train.check = lenient


class FailsLater(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.spare = nn.Parameter(torch.zeros(10, 16 * 7 * 7))  # unused until the dense turn
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == CALLS and FAILURE == "dense-hidden":
            hide_the_turn()
        if self.calls >= CALLS and FAILURE.startswith("dense"):
            return F.linear(self.body[0](x).flatten(1), self.spare)
        if self.calls >= CALLS:
            fail(self.calls)
        return self.body(x)
