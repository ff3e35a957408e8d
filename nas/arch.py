"""Architecture descriptions: plain JSON lists of layer specs, and the builder that makes them modules.

A description is what a search space returns and what each trial stores, so any trial's model
can be rebuilt without the space file. Layer specs:

    {"type": "conv", "out": 16, "kernel": 3, "padding": 1, "dilation": 1, "groups": 1}
    {"type": "bn"}                      BatchNorm over the current channels
    {"type": "act", "fn": "relu"}       relu, silu or gelu
    {"type": "maxpool", "kernel": 2}
    {"type": "dropout", "p": 0.05}      spatial dropout (whole channels)
    {"type": "gap"}                     global average pooling to 1×1
    {"type": "head", "out": 10}         1×1 conv to the classes

Every conv is bias-free. The built model ends with a flatten, so its output is N×classes.
"""

from __future__ import annotations

import copy

from torch import nn

from nas.errors import NasError
from nas.rules import Rules, count_params

ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}


def _layer(spec: dict, channels: int) -> tuple[nn.Module, int]:
    """One spec as a module, and the channels after it."""
    kind = spec.get("type")
    if kind == "conv":
        kernel, dilation = spec.get("kernel", 3), spec.get("dilation", 1)
        padding = spec.get("padding", dilation * (kernel // 2))
        conv = nn.Conv2d(channels, spec["out"], kernel, padding=padding, dilation=dilation,
                         groups=spec.get("groups", 1), bias=False)
        return conv, spec["out"]
    if kind == "head":
        return nn.Conv2d(channels, spec.get("out", 10), 1, bias=False), spec.get("out", 10)
    if kind == "bn":
        return nn.BatchNorm2d(channels), channels
    if kind == "act":
        return ACTIVATIONS[spec.get("fn", "relu")](), channels
    if kind == "maxpool":
        return nn.MaxPool2d(spec.get("kernel", 2)), channels
    if kind == "dropout":
        return nn.Dropout2d(spec.get("p", 0.0)), channels
    if kind == "gap":
        return nn.AdaptiveAvgPool2d(1), channels
    raise NasError(f"unknown layer spec {spec!r}; use conv, bn, act, maxpool, dropout, gap or head")


def build(description: list[dict], in_channels: int = 1) -> nn.Sequential:
    """The module a description stands for."""
    layers, channels = [], in_channels
    for spec in description:
        layer, channels = _layer(spec, channels)
        layers.append(layer)
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)


def arch_string(description: list[dict]) -> str:
    """Compact form, e.g. c10-c16-c20-M-t10-c16-c16-c20-c16-G-h10.

    c: 3×3 conv (d2: dilation 2), t: 1×1 transition conv, M: max-pool, G: global average
    pool, h: 1×1 head. Normalization, activations and dropout are left out.
    """
    parts = []
    for spec in description:
        kind = spec["type"]
        if kind == "conv":
            prefix = "t" if spec.get("kernel", 3) == 1 else "c"
            parts.append(prefix + str(spec["out"]) + (f"d{spec['dilation']}" if spec.get("dilation", 1) > 1 else ""))
        elif kind == "maxpool":
            parts.append("M")
        elif kind == "gap":
            parts.append("G")
        elif kind == "head":
            parts.append(f"h{spec.get('out', 10)}")
    return "-".join(parts)


def total_params(description: list[dict]) -> int:
    """Total params (trainable plus BatchNorm running statistics) of the built model."""
    return sum(count_params(build(description)))


def fit_to_budget(description: list[dict], rules: Rules, min_width: int = 4) -> list[dict]:
    """Scale conv widths down, all by one factor, until the model fits under rules.max_params.

    The head keeps its class count. Returns a new description; the input is not changed.
    """
    fitted = copy.deepcopy(description)
    for _ in range(50):
        params = total_params(fitted)
        if params < rules.max_params:
            return fitted
        # params grow about with width², so scale widths by the square root of the excess
        factor = min(0.98, (rules.max_params / params) ** 0.5)
        for spec in fitted:
            if spec["type"] == "conv":
                spec["out"] = max(min_width, int(spec["out"] * factor))
    return fitted
