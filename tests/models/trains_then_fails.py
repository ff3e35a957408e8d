"""A legal model that fails only once trained for a while: at its CALLS-th call (past every
check's calls) it raises, or exits with status 0 if $NAS_TEST_FAILURE is "exit"."""
import os
import sys

from torch import nn

from _backbone import features, gap_head

CALLS = 40  # the checks make 10-14 calls; 2 epochs of 20 steps make 42


class FailsLater(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(features(), gap_head())
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls >= CALLS:
            if os.environ.get("NAS_TEST_FAILURE") == "exit":
                sys.exit(0)
            raise RuntimeError(f"failed at call {self.calls}")
        return self.body(x)
