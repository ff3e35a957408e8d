"""A legal model that fails only once trained for a while: at its CALLS-th call (past every
check's calls) it does what $NAS_TEST_FAILURE says: "raise" (the default), "exit" (sys.exit(0)),
"os-exit" (os._exit(0), which no handler sees), "hang" (loops forever), or "patch" (makes nas's
accuracy read 100%, then trains on)."""
import os
import sys

from torch import nn

from _backbone import features, gap_head

CALLS = 40  # the checks make 10-14 calls; 2 epochs of 20 steps make 42


def fail(calls: int) -> None:
    failure = os.environ.get("NAS_TEST_FAILURE", "raise")
    if failure == "exit":
        sys.exit(0)
    if failure == "os-exit":
        os._exit(0)
    if failure == "hang":
        while True:
            pass
    if failure == "patch":
        import nas.train

        nas.train.measure = lambda model, images, labels: (0.0, 1.0)
        return
    raise RuntimeError(f"failed at call {calls}")


class FailsLater(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls >= CALLS:
            fail(self.calls)
        return self.body(x)
