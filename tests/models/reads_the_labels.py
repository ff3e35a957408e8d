"""A legal net in training that, measured, reads the labels out of nas's measuring frame and
answers them: 100% accuracy in the file's process. nas measures what it recorded instead."""
import sys

import torch
from torch import nn
from torch.nn import functional as F


class Peeker(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv(x).mean((2, 3))
        frame = sys._getframe(1)
        while frame is not None:
            names = frame.f_locals
            if not self.training and "labels" in names and "start" in names and len(x) > 3:
                labels = names["labels"][names["start"]:names["start"] + len(x)]
                return out + 100 * F.one_hot(labels, 10).float()
            frame = frame.f_back
        return out
