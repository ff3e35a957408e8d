"""Architecture descriptions: plain JSON lists of layer specs, and the builder that makes them modules.

A description is what a search space returns and what each trial stores, so any trial's model
can be rebuilt without the space file. Layer specs (every key but "type" optional):

    {"type": "conv", "out": 16, "kernel": 3, "stride": 1, "dilation": 1, "padding": 1, "groups": 1}
    {"type": "separable", "out": 16, "kernel": 3, "stride": 1, "dilation": 1}
                                        depthwise conv, then a 1×1 conv to `out` channels
    {"type": "residual", "body": [specs], "shortcut": "identity" or "conv"}
                                        body(x) + shortcut(x); the shortcut is a 1×1 conv where
                                        the body changes channels or map size, unless given
    {"type": "se", "reduction": 4}      squeeze-and-excitation gate: channels scaled by
                                        sigmoid(conv(relu(conv(gap(x))))), hidden = channels // 4
    {"type": "bn"}                      BatchNorm over the current channels
    {"type": "act", "fn": "relu"}       relu, silu or gelu
    {"type": "maxpool", "kernel": 2}
    {"type": "dropout", "p": 0.05}      spatial dropout (whole channels)
    {"type": "gap"}                     global average pooling to 1×1
    {"type": "head", "out": 10}         1×1 conv to the classes

Every conv is bias-free and nothing is fully connected: that holds by construction, and the
validator still checks every candidate. The built model ends with a flatten, so its output is
N×classes. Space authors write descriptions with the helpers at the end of this file: conv(),
bn(), act(), residual(), separable(), se(), pool(), dropout(), gap() and head().

No code is generated and run: each spec becomes a Call (a constructor and its arguments) through
one table, LAYERS. build() calls it and `nas export` writes it out, with the source of the block
classes below, so the exported file and the trained module cannot differ.
"""

from __future__ import annotations

import copy
import inspect
import operator
from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from nas.errors import NasError
from nas.rules import Rules
from nas.validator import count_params


# -- block classes: copied verbatim into exported files, so they import nothing but nn ------------
class Residual(nn.Module):
    """A residual block: body(x) + shortcut(x)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: each channel scaled by a gate in (0, 1) computed from the global
    averages of all channels, through bias-free 1×1 convs."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1, bias=False), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)


BLOCK_CLASSES = (Residual, SqueezeExcite)
# Every constructor a description can reach, by the name an exported file calls it with
CONSTRUCTORS = {**{f"nn.{name}": getattr(nn, name) for name in (
    "Conv2d", "BatchNorm2d", "ReLU", "SiLU", "GELU", "MaxPool2d", "Dropout2d", "AdaptiveAvgPool2d", "Flatten",
    "Sequential", "Identity")}, **{cls.__name__: cls for cls in BLOCK_CLASSES}}


@dataclass(frozen=True)
class Call:
    """A module constructor and its arguments: module() builds it, code() writes it as Python."""

    name: str  # a key of CONSTRUCTORS
    args: tuple = ()  # numbers, or Calls for the modules a block holds
    kwargs: tuple = ()  # (keyword, value) pairs

    def module(self) -> nn.Module:
        args = [a.module() if isinstance(a, Call) else a for a in self.args]
        return CONSTRUCTORS[self.name](*args, **dict(self.kwargs))

    def code(self, indent: str = "") -> str:
        """The call as source, nested calls one per line. Values are numbers that went through
        normalized() and are written with repr, so no stored text can become code."""
        flat = [repr(a) for a in self.args if not isinstance(a, Call)] + [f"{k}={v!r}" for k, v in self.kwargs]
        nested = [a for a in self.args if isinstance(a, Call)]
        if not nested:
            return f"{self.name}({', '.join(flat)})"
        inner = indent + "    "
        return "".join([f"{self.name}(\n", *(f"{inner}{a.code(inner)},\n" for a in nested), f"{indent})"])

    def names(self) -> set[str]:
        """The constructors this call uses, nested ones included."""
        return {self.name}.union(*(a.names() for a in self.args if isinstance(a, Call)))


# -- the description language ------------------------------------------------------------------
ACTIVATIONS = {"relu": "nn.ReLU", "silu": "nn.SiLU", "gelu": "nn.GELU"}
SHORTCUTS = ("identity", "conv")
# The keys each layer type takes, and for whole numbers their range: far beyond any net under
# the rules, yet a stored description cannot make one conv larger than 512·512·11·11 ≈ 32M weights
OPTIONS = {"conv": ("out", "kernel", "stride", "padding", "dilation", "groups"), "head": ("out",), "bn": (),
           "separable": ("out", "kernel", "stride", "dilation"), "residual": ("body", "shortcut"),
           "se": ("reduction",), "act": ("fn",), "maxpool": ("kernel",), "dropout": ("p",), "gap": ()}
BODY_TYPES = ("conv", "separable", "se", "bn", "act", "dropout")  # what a residual body may hold
RANGES = {"out": (1, 512), "groups": (1, 512), "kernel": (1, 11), "stride": (1, 4), "dilation": (1, 14),
          "padding": (0, 28), "reduction": (1, 512)}


def normalized(description) -> list[dict]:
    """The description as plain data: known layer types and keys, whole numbers in range, p in [0, 1).

    A description comes from a space or a storage: it is data, checked here before anything
    is built from it or written out. A NasError says which layer is wrong and how.
    """
    if not isinstance(description, list) or not description:
        raise NasError(f"an architecture is a non-empty list of layer specs, not {_short(description)}")
    return [_normalized_spec(spec, f"layer {index}", OPTIONS) for index, spec in enumerate(description)]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _normalized_spec(spec, where: str, types) -> dict:
    kind = spec.get("type") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind not in types:
        raise NasError(f"{where}: unknown layer spec {_short(spec)}; use a dict with type {', '.join(types)}")
    unknown = sorted(map(str, set(spec) - {"type", *OPTIONS[kind]}))
    if unknown:
        raise NasError(f"{where} ({kind}): unknown key(s) {', '.join(unknown)}; a {kind} takes "
                       f"{', '.join(OPTIONS[kind]) or 'no other key'}")
    clean = {"type": kind}
    for key in OPTIONS[kind]:
        if key in spec:
            clean[key] = _value(spec[key], key, f"{where} ({kind})")
    return clean


def _value(value, key: str, where: str):
    if key == "body":
        if not isinstance(value, list) or not value:
            raise NasError(f"{where}: body is a non-empty list of layer specs, not {_short(value)}")
        return [_normalized_spec(spec, f"{where} body layer {i}", BODY_TYPES) for i, spec in enumerate(value)]
    if key in ("fn", "shortcut"):
        allowed = ACTIVATIONS if key == "fn" else SHORTCUTS
        if not isinstance(value, str) or value not in allowed:
            raise NasError(f"{where}: unknown {key} {_short(value)}; use {', '.join(allowed)}")
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


# -- the table: one normalized spec and the channels before it -> its Call and the channels after
def _conv(channels: int, out: int, kernel: int = 1, stride: int = 1, dilation: int = 1, padding: int | None = None,
          groups: int = 1) -> Call:
    if channels % groups or out % groups:
        raise NasError(f"a conv with groups={groups} must divide its {channels} input and {out} output channels")
    padding = dilation * (kernel // 2) if padding is None else padding
    # defaults left out, so a description of the first version writes the lines it always wrote
    optional = (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1), ("groups", groups, 1))
    return Call("nn.Conv2d", (channels, out, kernel),
                tuple((k, v) for k, v, default in optional if v != default) + (("bias", False),))


def _conv_spec(spec: dict, channels: int) -> tuple[Call, int]:
    options = {k: v for k, v in spec.items() if k != "type"}
    out = options.pop("out", 10)
    if spec["type"] == "head":
        return _conv(channels, out), out
    return _conv(channels, out, **{"kernel": 3, **options}), out


def _separable(spec: dict, channels: int) -> tuple[Call, int]:
    out, kernel = spec.get("out", 10), spec.get("kernel", 3)
    depthwise = _conv(channels, channels, kernel, spec.get("stride", 1), spec.get("dilation", 1), groups=channels)
    return Call("nn.Sequential", (depthwise, _conv(channels, out))), out


def _residual(spec: dict, channels: int) -> tuple[Call, int]:
    body, out, stride = [], channels, 1
    for layer in spec["body"]:
        # the sum needs both branches on one map size: "same" padding, odd kernels
        if layer.get("kernel", 3) % 2 == 0 or "padding" in layer:
            raise NasError("a conv in a residual body keeps the map's size: an odd kernel and no padding key")
        stride *= layer.get("stride", 1)
        call, out = LAYERS[layer["type"]](layer, out)
        body.append(call)
    shortcut = spec.get("shortcut", "identity" if out == channels and stride == 1 else "conv")
    if shortcut == "identity" and (out != channels or stride != 1):
        raise NasError(f"an identity shortcut cannot join {channels} channels to a body that gives {out} channels "
                       f"at stride {stride}; use shortcut conv")
    shortcut_call = Call("nn.Identity") if shortcut == "identity" else _conv(channels, out, stride=stride)
    return Call("Residual", (Call("nn.Sequential", tuple(body)), shortcut_call)), out


LAYERS = {
    "conv": _conv_spec,
    "head": _conv_spec,
    "separable": _separable,
    "residual": _residual,
    "se": lambda spec, c: (Call("SqueezeExcite", (c, max(1, c // spec.get("reduction", 4)))), c),
    "bn": lambda spec, c: (Call("nn.BatchNorm2d", (c,)), c),
    "act": lambda spec, c: (Call(ACTIVATIONS[spec.get("fn", "relu")]), c),
    "maxpool": lambda spec, c: (Call("nn.MaxPool2d", (spec.get("kernel", 2),)), c),
    "dropout": lambda spec, c: (Call("nn.Dropout2d", (spec.get("p", 0.0),)), c),
    "gap": lambda spec, c: (Call("nn.AdaptiveAvgPool2d", (1,)), c),
}


def _stride(spec: dict) -> int:
    strides = [spec.get("stride", 1)] + [layer.get("stride", 1) for layer in spec.get("body", [])]
    return max(strides)


def blocks(description: list[dict], in_channels: int = 1) -> list[tuple[str, list[Call]]]:
    """Named blocks of calls: block1, block2, ... (a new one at each max-pool, and at a strided
    layer unless it follows the block's max-pool), then head. The head starts at global pooling
    or the 1×1 head conv, and ends with a flatten."""
    named: list[tuple[str, list[Call]]] = []
    channels = in_channels
    for spec in normalized(description):
        in_head = bool(named) and named[-1][0] == "head"
        pooled = bool(named) and all(call.name == "nn.MaxPool2d" for call in named[-1][1])
        if spec["type"] in ("gap", "head") and not in_head:
            named.append(("head", []))
        elif not named or (not in_head and (spec["type"] == "maxpool" or (_stride(spec) > 1 and not pooled))):
            named.append((f"block{len(named) + 1}", []))
        call, channels = LAYERS[spec["type"]](spec, channels)
        named[-1][1].append(call)
    if not named or named[-1][0] != "head":
        named.append(("head", []))
    named[-1][1].append(Call("nn.Flatten"))
    return named


def build(description: list[dict], in_channels: int = 1) -> nn.Sequential:
    """The module a description stands for: an nn.Sequential of named nn.Sequential blocks."""
    return nn.Sequential(OrderedDict((name, nn.Sequential(*(call.module() for call in calls)))
                                     for name, calls in blocks(description, in_channels)))


def arch_string(description: list[dict]) -> str:
    """Compact form, e.g. c10-c16-M-t10-R(c16-c16)-ds20s2-se-G-h10.

    c: conv (k5: 5×5, d2: dilation 2, s2: stride 2), t: 1×1 transition conv, ds: depthwise-
    separable conv, R(...): residual block (+t: with a 1×1 conv shortcut), se: squeeze-and-
    excitation gate, M: max-pool, G: global average pool, h: 1×1 head. Normalization,
    activations and dropout are left out.
    """
    return "-".join(filter(None, (_short_form(spec) for spec in normalized(description))))


def _short_form(spec: dict) -> str:
    kind = spec["type"]
    if kind in ("conv", "separable"):
        kernel = spec.get("kernel", 3)
        prefix = "ds" if kind == "separable" else "t" if kernel == 1 else "c"
        return (prefix + str(spec.get("out", 10)) + (f"k{kernel}" if kernel not in (1, 3) else "")
                + "".join(f"{k[0]}{spec[k]}" for k in ("dilation", "stride") if spec.get(k, 1) > 1))
    if kind == "residual":
        body = "-".join(filter(None, (_short_form(layer) for layer in spec["body"])))
        return f"R({body})" + ("+t" if spec.get("shortcut") == "conv" else "")
    return {"se": "se", "maxpool": "M", "gap": "G", "head": f"h{spec.get('out', 10)}"}.get(kind, "")


def total_params(description: list[dict]) -> int:
    """Total params (trainable plus BatchNorm running statistics) of the built model."""
    return sum(count_params(build(description)))


def fit_to_budget(description: list[dict], rules: Rules, min_width: int = 4) -> list[dict]:
    """Scale conv widths down, all by one factor, until the model fits under rules.max_params.

    Convs and separable convs scale, in residual bodies too; the head keeps its class count.
    Widths stay at min_width or more, unless the model is still too large with every width
    there (many layers under a small budget): then they go below it. Returns a new
    description; the input is not changed.
    """
    fitted = copy.deepcopy(description)
    scaled = [s for top in fitted for s in [top, *top.get("body", [])] if s["type"] in ("conv", "separable")]
    floor = min_width
    while (params := total_params(fitted)) >= rules.max_params:
        if all(spec["out"] <= floor for spec in scaled):
            if floor == 1:
                break  # cannot shrink further: the caller's validator rejects it
            floor = 1
        # params grow about with width², so scale widths by the square root of the excess
        factor = min(0.98, (rules.max_params / params) ** 0.5)
        for spec in scaled:
            if spec["out"] > floor:  # a width already under the floor (a space's choice) stays
                spec["out"] = max(floor, int(spec["out"] * factor))
    return fitted


def source(description: list[dict], class_name: str = "Net", doc: str = "") -> str:
    """A standalone, readable PyTorch file for a description: imports only torch.

    It defines `class_name` with the same named blocks as build(), so a state_dict of the
    built model loads into it, and build_model() returning one; and the block classes it uses,
    copied from this module. `doc` (which may hold names and values from a storage) becomes
    comment lines, never code.
    """
    if not class_name.isidentifier():
        raise NasError(f"{class_name!r} is not a Python class name")
    named = blocks(description)
    used = set().union(*(call.names() for _, calls in named for call in calls))
    lines = ['"""A bias-free, fully-connected-free MNIST net exported by nas."""', *_comment(doc), "",
             "from torch import nn", ""]
    for cls in BLOCK_CLASSES:
        if cls.__name__ in used:
            lines += ["", inspect.getsource(cls).rstrip(), ""]
    lines += ["", f"class {class_name}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    for name, calls in named:
        lines.append(f"        self.{name} = nn.Sequential(")
        lines += [f"            {call.code('            ')}," for call in calls]
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


# -- helpers for space authors: a space reads as the network it describes ----------------------
def conv(out: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> dict:
    """A bias-free conv with "same" padding (stride 2 halves the map)."""
    return {"type": "conv", "out": out, "kernel": kernel, "stride": stride, "dilation": dilation}


def separable(out: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> dict:
    """A depthwise conv (one kernel per channel), then a 1×1 conv to `out` channels."""
    return {"type": "separable", "out": out, "kernel": kernel, "stride": stride, "dilation": dilation}


def residual(*body, shortcut: str | None = None) -> dict:
    """body(x) + shortcut(x). Body: specs or lists of specs. Shortcut: identity where the body
    keeps channels and map size, else a 1×1 conv, unless named."""
    layers = [spec for part in body for spec in (part if isinstance(part, list) else [part])]
    return {"type": "residual", "body": layers, **({"shortcut": shortcut} if shortcut else {})}


def se(reduction: int = 4) -> dict:
    return {"type": "se", "reduction": reduction}


def bn() -> dict:
    return {"type": "bn"}


def act(fn: str = "relu") -> dict:
    return {"type": "act", "fn": fn}


def pool(kernel: int = 2) -> dict:
    return {"type": "maxpool", "kernel": kernel}


def dropout(p: float) -> dict:
    return {"type": "dropout", "p": p}


def gap() -> dict:
    return {"type": "gap"}


def head(out: int = 10) -> dict:
    return {"type": "head", "out": out}
