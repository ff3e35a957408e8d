"""expect: exit 2 recorded computation
A dense net with a bias that finds nas's message channel and its token with `gc`, sends a
passing verdict for 90 params, and exits before nas records what it computes."""
import gc
import os

import torch
from torch import nn


class Forged(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.dense(x.flatten(1))


def build_model():
    channel = next(o for o in gc.get_objects() if type(o).__name__ == "_Channel")
    channel.send({"report": {"ok": True, "total_params": 90, "trainable_params": 90, "non_trainable_params": 0,
                             "macs": 0, "receptive_field": 28, "violations": [], "layers": [], "max_params": 15000,
                             "model": "Forged"}})
    os._exit(0)
