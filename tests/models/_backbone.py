"""What the violation models share: a small valid feature extractor (1×28×28 → 16×7×7), and cheats."""

import inspect

import torch
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode


def features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    )


def gap_head(channels: int = 16) -> nn.Sequential:
    """The allowed head: global average pooling, then a bias-free 1×1 conv to 10 classes."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, 10, 1, bias=False), nn.Flatten())


class LearnedMatrix(nn.Module):
    """Features plus a learned 10×16 matrix; subclasses show ways to use it in forward."""

    def __init__(self):
        super().__init__()
        self.features = features()
        self.weight = nn.Parameter(torch.randn(10, 16))


class PositionsAsChannels(nn.Module):
    """Features (16×7×7) and a 1×1 conv from 784 channels, one per value of the map: a dense
    layer once a subclass's forward moves the map's positions into channels."""

    def __init__(self):
        super().__init__()
        self.f = features()
        self.c = nn.Conv2d(784, 10, 1, bias=False)


class ImageMatrix(nn.Module):
    """A learned 784×10 matrix for the flattened image: a dense layer, once a subclass's forward
    hides the product from the check."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) * 0.01)

    @staticmethod
    def gated(dense: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """`dense` mixed with a gate on the input through torch.maximum, so that the output varies
        with the input even where the check took the product for a constant."""
        gate = (1 + 0.5 * torch.sigmoid(x.mean((1, 2, 3)))).unsqueeze(1).expand(len(x), 10)
        return torch.maximum(dense, -1e4 * gate)


class ExtraChannel(nn.Module):
    """Features and a 1×1 conv from 17 channels to 10 classes: a bias, once a subclass's forward
    makes the 17th channel beside the 16 features a constant."""

    def __init__(self):
        super().__init__()
        self.features = features()
        self.head = nn.Conv2d(17, 10, 1, bias=False)


class PaddedByHand(nn.Module):
    """A legal net: a 3×3 conv, its 28×28 map padded by a subclass's `pad` to 30×30, a strided 3×3
    conv without padding, global pooling, a 1×1 head."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 16, 3, stride=2, bias=False)
        self.head = nn.Conv2d(16, 10, 1, bias=False)

    def pad(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x):
        h = self.pad(torch.relu(self.a(x)))
        return self.head(torch.relu(self.b(h)).mean((2, 3), keepdim=True)).flatten(1)


class WholeMapKernel(nn.Module):
    """Features (16×7×7) and a 7×7 conv to 10 classes (`dilation` apart): a dense layer on that
    map, once a subclass's forward makes the map look larger than the kernel."""

    dilation = 1

    def __init__(self):
        super().__init__()
        self.f = features()
        self.c = nn.Conv2d(16, 10, 7, dilation=self.dilation, bias=False)


def being_checked() -> bool:
    """Whether nas's validator is on the call stack: a cheat's way to be honest only then."""
    return any(frame.filename.endswith("nas/validator.py") for frame in inspect.stack(0))


class TwoFaced(nn.Module):
    """A legal net (a 3×3 conv, then global pooling) and, beside it, a dense layer with a bias on
    the flattened image; subclasses say when to be `honest`."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)
        self.weight = nn.Parameter(torch.randn(28 * 28, 10) * 0.01)  # no Linear module to spot
        self.shift = nn.Parameter(torch.zeros(10))

    def honest(self, x: torch.Tensor) -> bool:
        return being_checked()

    def forward(self, x):
        return self.conv(x).mean((2, 3)) if self.honest(x) else x.flatten(1) @ self.weight + self.shift


class AltersItsRecording(nn.Module):
    """A legal net that, while nas records it, changes the recording (`alter`, in subclasses):
    nodes the file's process never ran, which nas's own process replays."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 3, padding=1, bias=False)

    def alter(self, nodes: list[dict]) -> None:
        raise NotImplementedError

    def forward(self, x):
        mode = _get_current_dispatch_mode()
        if type(mode).__name__ == "_Recorder":
            self.alter(mode.nodes)
        return self.conv(x).mean((2, 3))
