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
import operator
from collections import OrderedDict

from torch import nn

from nas.errors import NasError
from nas.rules import Rules
from nas.validator import count_params

ACTIVATIONS = {"relu": "nn.ReLU()", "silu": "nn.SiLU()", "gelu": "nn.GELU()"}
# The keys each layer type takes, and for whole numbers their range: far beyond any net under
# the rules, yet a stored description cannot make one conv larger than 512·512·11·11 ≈ 32M weights
OPTIONS = {"conv": ("out", "kernel", "padding", "dilation", "groups"), "head": ("out",), "bn": (),
           "act": ("fn",), "maxpool": ("kernel",), "dropout": ("p",), "gap": ()}
RANGES = {"out": (1, 512), "groups": (1, 512), "kernel": (1, 11), "dilation": (1, 14), "padding": (0, 28)}


def normalized(description) -> list[dict]:
    """The description as plain data: known layer types and keys, whole numbers in range, p in [0, 1).

    A description comes from a space or a storage: it is data, checked here before anything
    is built from it or written out. A NasError says which layer is wrong and how.
    """
    if not isinstance(description, list) or not description:
        raise NasError(f"an architecture is a non-empty list of layer specs, not {_short(description)}")
    return [_normalized_spec(spec, index) for index, spec in enumerate(description)]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _normalized_spec(spec, index: int) -> dict:
    kind = spec.get("type") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind not in OPTIONS:
        raise NasError(f"layer {index}: unknown layer spec {_short(spec)}; use a dict with type conv, bn, act, "
                       "maxpool, dropout, gap or head")
    unknown = sorted(map(str, set(spec) - {"type", *OPTIONS[kind]}))
    if unknown:
        raise NasError(f"layer {index} ({kind}): unknown key(s) {', '.join(unknown)}; a {kind} takes "
                       f"{', '.join(OPTIONS[kind]) or 'no other key'}")
    clean = {"type": kind}
    for key in OPTIONS[kind]:
        if key in spec:
            clean[key] = _value(spec[key], key, f"layer {index} ({kind})")
    return clean


def _value(value, key: str, where: str):
    if key == "fn":
        if not isinstance(value, str) or value not in ACTIVATIONS:
            raise NasError(f"{where}: unknown activation {_short(value)}; use {', '.join(ACTIVATIONS)}")
        return value
    if key == "p":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
            raise NasError(f"{where}: p={_short(value)} is not a probability in [0, 1)")
        return float(value)
    low, high = RANGES[key]
    try:  # index(): whole numbers only (numpy's too), no floats or strings
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        raise NasError(f"{where}: {key}={_short(value)} is not a whole number from {low} to {high}")
    return int(number)


def _layer_code(spec: dict, channels: int) -> tuple[str, int]:
    """One normalized spec as a line of PyTorch code, and the channels after it.

    build() runs these lines and `nas export` writes them, so an exported file is exactly the
    module that was trained. Every value went through normalized(): a stored description can
    only ever yield these constructors.
    """
    kind = spec["type"]
    if kind in ("conv", "head"):
        out = spec.get("out", 10)
        kernel = 1 if kind == "head" else spec.get("kernel", 3)
        dilation = spec.get("dilation", 1)
        padding = spec.get("padding", dilation * (kernel // 2))
        groups = spec.get("groups", 1)
        if channels % groups or out % groups:
            raise NasError(f"a conv with groups={groups} must divide its {channels} input and {out} output "
                           "channels")
        extra = (f", padding={padding}" if padding else "") + (f", dilation={dilation}" if dilation > 1 else "")
        extra += f", groups={groups}" if groups > 1 else ""
        return f"nn.Conv2d({channels}, {out}, {kernel}{extra}, bias=False)", out
    if kind == "bn":
        return f"nn.BatchNorm2d({channels})", channels
    if kind == "act":
        return ACTIVATIONS[spec.get("fn", "relu")], channels
    if kind == "maxpool":
        return f"nn.MaxPool2d({spec.get('kernel', 2)})", channels
    if kind == "dropout":
        return f"nn.Dropout2d({spec.get('p', 0.0)!r})", channels
    return "nn.AdaptiveAvgPool2d(1)", channels  # gap


def blocks(description: list[dict], in_channels: int = 1) -> list[tuple[str, list[str]]]:
    """Named blocks of code lines: block1, block2, ... (a new one at each max-pool), then head.

    The head starts at global pooling or the 1×1 head conv, and ends with a flatten.
    """
    named: list[tuple[str, list[str]]] = []
    channels = in_channels
    for spec in normalized(description):
        in_head = bool(named) and named[-1][0] == "head"
        if spec.get("type") in ("gap", "head") and not in_head:
            named.append(("head", []))
        elif not named or (spec.get("type") == "maxpool" and not in_head):
            named.append((f"block{len(named) + 1}", []))
        code, channels = _layer_code(spec, channels)
        named[-1][1].append(code)
    if not named or named[-1][0] != "head":
        named.append(("head", []))
    named[-1][1].append("nn.Flatten()")
    return named


def build(description: list[dict], in_channels: int = 1) -> nn.Sequential:
    """The module a description stands for: an nn.Sequential of named nn.Sequential blocks."""
    return nn.Sequential(OrderedDict(
        (name, nn.Sequential(*(eval(code, {"nn": nn}) for code in lines)))  # lines from _layer_code only
        for name, lines in blocks(description, in_channels)))


def arch_string(description: list[dict]) -> str:
    """Compact form, e.g. c10-c16-c20-M-t10-c16-c16-c20-c16-G-h10.

    c: 3×3 conv (d2: dilation 2), t: 1×1 transition conv, M: max-pool, G: global average
    pool, h: 1×1 head. Normalization, activations and dropout are left out.
    """
    parts = []
    for spec in normalized(description):
        kind = spec["type"]
        if kind == "conv":
            prefix = "t" if spec.get("kernel", 3) == 1 else "c"
            parts.append(prefix + str(spec.get("out", 10)) + (f"d{spec['dilation']}" if spec.get("dilation", 1) > 1 else ""))
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


def source(description: list[dict], class_name: str = "Net", doc: str = "") -> str:
    """A standalone, readable PyTorch file for a description: imports only torch.

    It defines `class_name` with the same named blocks as build(), so a state_dict of the
    built model loads into it, and build_model() returning one. `doc` (which may hold names
    and values from a storage) becomes comment lines, never code.
    """
    if not class_name.isidentifier():
        raise NasError(f"{class_name!r} is not a Python class name")
    named = blocks(description)
    lines = ['"""A bias-free, fully-connected-free MNIST net exported by nas."""', *_comment(doc), "",
             "from torch import nn", "", "", f"class {class_name}(nn.Module):", "    def __init__(self):",
             "        super().__init__()"]
    for name, codes in named:
        lines.append(f"        self.{name} = nn.Sequential(")
        lines += [f"            {code}," for code in codes]
        lines.append("        )")
    lines += ["", "    def forward(self, x):"]
    lines += [f"        x = self.{name}(x)" for name, _ in named[:-1]]
    lines += [f"        return self.{named[-1][0]}(x)", "", "", "def build_model() -> nn.Module:",
              f"    return {class_name}()", ""]
    return "\n".join(lines)


def _comment(text: str) -> list[str]:
    """Text as comment lines. Anything that could end a comment (a line break of any kind) or
    trouble the parser (a NUL) is escaped, so the text can never become code."""
    return [("# " + "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)).rstrip()
            for line in text.split("\n")] if text else []
