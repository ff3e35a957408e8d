"""Run one forward pass and record what the model does.

A torch function mode sees every tensor operation, so the record does not depend on how the
model's source is written. Each tensor that flows through the pass gets a tag:
- an *activation* (computed from the input), with its receptive field in input pixels;
- *learned* (computed from parameters alone, e.g. `self.weight.T`).
From the tags we get the layer table, the receptive field, multiply-accumulates, and the
operations the rules care about: dense products and additions of learned tensors with
activations, and convolutions whose kernel covers the whole feature map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

CONV_OPS = {"conv1d", "conv2d", "conv3d"}
MAX_POOL_OPS = {"max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
                "max_pool2d_with_indices", "max_pool3d_with_indices"}
AVG_POOL_OPS = {"avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"}
# Products of two operands over a shared dimension: with a learned operand, a dense layer.
DENSE_OPS = {"linear", "bilinear", "matmul", "rmatmul", "mm", "bmm", "addmm", "baddbmm",
             "addbmm", "einsum", "tensordot", "mv", "addmv", "inner", "chain_matmul",
             "multi_dot"}
# Additions: with a learned operand, an additive bias.
ADD_OPS = {"add", "add_", "radd", "iadd", "sub", "sub_", "rsub", "isub"}
LEARNED = "learned"


@dataclass(frozen=True)
class Activation:
    """What we know of a tensor computed from the input."""

    size: tuple[int, ...]  # receptive field per spatial dimension, in input pixels
    jump: tuple[int, ...]  # input pixels between neighbouring positions
    is_global: bool = False  # every position sees the whole input (after global pooling)


@dataclass
class Layer:
    """One row of the layer table: a module call, or a module that never ran."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None  # per image (batch dimension dropped); None if not called
    params: int  # own parameters plus normalization running statistics
    macs: int  # multiply-accumulates per image
    receptive_field: int | str | None  # pixels, "global", or None when unknown

    def to_dict(self) -> dict:
        shape = list(self.output_shape) if self.output_shape is not None else None
        return {"name": self.name, "type": self.type, "output_shape": shape,
                "params": self.params, "macs": self.macs, "receptive_field": self.receptive_field}


@dataclass
class Op:
    """An operation the rules judge: kind is "dense", "add" or "full-conv"."""

    kind: str
    func: str
    where: str
    detail: str = ""


@dataclass
class Trace:
    output: object
    layers: list[Layer]
    ops: list[Op]
    macs: int  # per image
    receptive_field: int  # largest local receptive field before any global pooling, pixels


def running_stats(module: nn.Module) -> int:
    """Number of normalization running statistics held directly by `module`."""
    return sum(b.numel() for name, b in module.named_buffers(recurse=False)
               if name in ("running_mean", "running_var"))


def _own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False)) + running_stats(module)


def _tuple(value, n: int, default) -> tuple[int, ...]:
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        value = default
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


def _arg(args, kwargs, index: int, name: str, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _spatial(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape[2:])


class _Tracer(TorchFunctionMode):
    def __init__(self, model: nn.Module, example: torch.Tensor):
        super().__init__()
        self.batch = example.shape[0]
        self.root_name = type(model).__name__
        self.tags: dict[int, Activation | str] = {}
        self.keep: list[torch.Tensor] = []  # keeps tagged tensors alive so their ids stay unique
        self.stack: list[str] = []
        self.ops: list[Op] = []
        self.macs = 0
        self.max_rf = 0
        self.module_macs: dict[str, int] = {}
        self._tag(example, Activation(size=(1,) * (example.dim() - 2), jump=(1,) * (example.dim() - 2)))

    # -- bookkeeping -------------------------------------------------------------------------
    def _tag(self, t: torch.Tensor, tag: Activation | str) -> None:
        self.tags[id(t)] = tag
        self.keep.append(t)
        if isinstance(tag, Activation) and not tag.is_global and tag.size:
            self.max_rf = max(self.max_rf, max(tag.size))

    def tag_of(self, t) -> Activation | str | None:
        if isinstance(t, nn.Parameter):
            return LEARNED
        return self.tags.get(id(t)) if isinstance(t, torch.Tensor) else None

    @property
    def where(self) -> str:
        return self.stack[-1] if self.stack and self.stack[-1] else f"{self.root_name}.forward"

    def _record(self, kind: str, func: str, detail: str = "") -> None:
        self.ops.append(Op(kind=kind, func=func, where=self.where, detail=detail))

    def _count_macs(self, macs: int) -> None:
        self.macs += macs
        key = self.stack[-1] if self.stack else ""
        self.module_macs[key] = self.module_macs.get(key, 0) + macs

    # -- the mode ----------------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "").strip("_")
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        tags = [self.tag_of(t) for t in inputs]
        acts = [(t, tag) for t, tag in zip(inputs, tags) if isinstance(tag, Activation)]
        learned = any(tag == LEARNED for tag in tags)
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if not acts:
            if learned:  # computed from parameters alone: still a learned tensor
                for t in outputs:
                    self._tag(t, LEARNED)
            return out
        x, info = acts[0]
        if len(acts) > 1:
            # x * gate (a broadcast SE gate): follow the operand shaped like the output; among those
            # (a residual sum), the widest view wins
            shaped = [a for a in acts if outputs and a[0].shape == outputs[0].shape] or acts
            x, info = max(shaped, key=lambda a: (a[1].is_global, max(a[1].size, default=0)))

        if name in CONV_OPS:
            info = self._conv(name, x, info, args, kwargs, outputs)
        elif name in MAX_POOL_OPS or name in AVG_POOL_OPS:
            info = self._pool(name, x, info, args, kwargs)
        elif name.startswith("adaptive_") and outputs and outputs[0].dim() == x.dim():
            out_size = _spatial(outputs[0])
            kernel = tuple(math.ceil(i / max(o, 1)) for i, o in zip(_spatial(x), out_size))
            info = _grow(info, kernel, kernel, (1,) * len(kernel))
        elif name in DENSE_OPS:
            if learned:
                self._record("dense", name)
            if outputs:
                self._count_macs(outputs[0].numel() // self.batch * x.shape[-1])
        elif name in ADD_OPS and learned:
            self._record("add", name)

        for t in outputs:
            self._tag(t, _globalize(info, x, t))
        return out

    def _conv(self, name, x, info, args, kwargs, outputs) -> Activation:
        n = x.dim() - 2
        weight = _arg(args, kwargs, 1, "weight")
        bias = _arg(args, kwargs, 2, "bias")
        stride = _tuple(_arg(args, kwargs, 3, "stride"), n, 1)
        dilation = _tuple(_arg(args, kwargs, 5, "dilation"), n, 1)
        kernel = tuple(weight.shape[2:])
        extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        in_size = _spatial(x)
        if self.tag_of(weight) == LEARNED and math.prod(in_size) > 1 and all(
                e >= s for e, s in zip(extent, in_size)):
            self._record("full-conv", name, f"{'×'.join(map(str, extent))} kernel on a "
                                             f"{'×'.join(map(str, in_size))} map")
        if bias is not None and self.tag_of(bias) == LEARNED:
            self._record("add", name, "bias argument")
        if outputs:
            self._count_macs(outputs[0].numel() // self.batch * weight.shape[1] * math.prod(kernel))
        return _grow(info, kernel, stride, dilation)

    def _pool(self, name, x, info, args, kwargs) -> Activation:
        n = x.dim() - 2
        kernel = _tuple(_arg(args, kwargs, 1, "kernel_size"), n, 1)
        stride = _tuple(_arg(args, kwargs, 2, "stride"), n, kernel)
        # only max pooling takes a dilation (position 4); for avg pooling that slot is ceil_mode
        dilation = _tuple(_arg(args, kwargs, 4, "dilation"), n, 1) if name in MAX_POOL_OPS else (1,) * n
        return _grow(info, kernel, stride, dilation)


def _grow(info: Activation, kernel, stride, dilation) -> Activation:
    """Receptive field after a sliding window (convolution or pooling)."""
    if info.is_global or len(info.size) != len(kernel):
        return info
    size = tuple(s + d * (k - 1) * j for s, k, d, j in zip(info.size, kernel, dilation, info.jump))
    jump = tuple(j * s for j, s in zip(info.jump, stride))
    return Activation(size=size, jump=jump)


def _globalize(info: Activation, x: torch.Tensor, out: torch.Tensor) -> Activation:
    """A map larger than 1×1 reduced to one position (GAP, flatten) sees the whole input."""
    reduced = out.dim() < x.dim() or (out.dim() == x.dim() and math.prod(_spatial(out)) == 1)
    if x.dim() > 2 and math.prod(_spatial(x)) > 1 and reduced:
        return Activation(size=info.size, jump=info.jump, is_global=True)
    return info


def trace(model: nn.Module, example: torch.Tensor) -> Trace:
    """Run `model(example)` once and record layers, receptive fields, MACs and judged ops.

    Exceptions from the forward pass propagate unchanged; the caller decides what they mean.
    """
    tracer = _Tracer(model, example)
    names = {m: name for name, m in model.named_modules()}
    calls: list[tuple[str, nn.Module, object]] = []

    def pre_hook(module, _inputs):
        tracer.stack.append(names.get(module, ""))

    def post_hook(module, _inputs, output):
        tracer.stack.pop()
        calls.append((names.get(module, ""), module, output))

    handles = []
    for module in names:
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook, always_call=True))
    try:
        with tracer:
            output = model(example)
    finally:
        for h in handles:
            h.remove()

    layers, seen = [], set()
    for name, module, out in calls:
        own_macs = tracer.module_macs.get(name, 0)
        is_leaf = next(module.children(), None) is None
        if not (is_leaf or own_macs or _own_params(module)):
            continue  # a container: its children have the rows
        first = next((t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)), None)
        tag = tracer.tags.get(id(first)) if first is not None else None
        rf = None
        if isinstance(tag, Activation):
            rf = "global" if tag.is_global else max(tag.size, default=1)
        layers.append(Layer(
            name=name or type(module).__name__, type=type(module).__name__,
            output_shape=tuple(first.shape[1:]) if first is not None else None,
            params=0 if module in seen else _own_params(module),
            macs=own_macs, receptive_field=rf))
        seen.add(module)
    ran = {module for _, module, _ in calls}
    for name, module in model.named_modules():  # modules with weights that never ran
        if module not in ran and _own_params(module):
            layers.append(Layer(name=name or type(module).__name__, type=type(module).__name__,
                                output_shape=None, params=_own_params(module), macs=0,
                                receptive_field=None))
    return Trace(output=output, layers=layers, ops=tracer.ops,
                 macs=tracer.macs, receptive_field=tracer.max_rf)
