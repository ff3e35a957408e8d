"""Watch one forward pass at the level every computation passes through, and record what it does.

A TorchDispatchMode sees each aten operation after decomposition: `F.linear`, `@` and `einsum`
arrive as `mm`/`bmm`, and so do direct `torch.ops.aten` calls, code under
`DisableTorchFunction` and TorchScript modules. Every tensor that flows through the pass gets a
tag: whether it varies with the input images, whether it was computed from learned state, and,
for maps, where its spatial positions are. The rules then follow from the tags:
- a learned tensor that enters a matrix product with activations is a dense layer;
- a convolution is dense when its input's positions were folded into features (flatten, unfold,
  pixel-unshuffle) or its kernel is not smaller than the map;
- a learned multiplier that differs per position is a dense layer spread over the map;
- a learned tensor that does not vary with the input, added to activations, is a bias (so is a
  constant channel concatenated to them: the convolution after it learns a bias);
- an operation this module does not know, combining learned tensors with activations, is
  refused rather than waved through.
Whether a tensor varies with the input is measured, not assumed: the caller runs a reference
pass on other images first, and an output equal to the reference (within 1%) does not depend on
the input, whatever its arithmetic (`W * (1 + 0 * x.mean())` is W).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from nas.rules import NO_BIAS, NO_FC, Layer

# Products over a shared dimension: with a learned operand and an activation, a dense layer.
CONTRACTIONS = frozenset({"mm", "bmm", "addmm", "baddbmm", "addbmm", "mv", "addmv", "dot", "vdot", "inner", "outer",
                "ger", "addr", "linear", "matmul", "einsum", "tensordot", "bilinear", "_trilinear", "kron",
                "embedding", "embedding_bag", "_embedding_bag", "_embedding_bag_forward_only", "cdist",
                "_cdist_forward", "_int_mm", "_addmm_activation", "linalg_vecdot", "chain_matmul"})
CONVOLUTIONS = frozenset({"convolution", "_convolution", "conv1d", "conv2d", "conv3d", "mkldnn_convolution",
                "_slow_conv2d_forward", "slow_conv_dilated2d", "slow_conv3d_forward", "thnn_conv2d",
                "_nnpack_spatial_convolution", "cudnn_convolution", "_convolution_mode"})
NORMALIZATIONS = frozenset({"native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
                  "_native_batch_norm_legit_functional", "batch_norm", "_batch_norm_impl_index",
                  "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm", "native_group_norm",
                  "group_norm", "native_layer_norm", "layer_norm", "instance_norm", "rms_norm", "_fused_rms_norm"})
LAYER_NORMS = frozenset({"native_layer_norm", "layer_norm", "rms_norm", "_fused_rms_norm"})  # over trailing dims
# Sums: a learned operand that does not vary with the input is an additive bias.
ADDITIONS = frozenset({"add", "sub", "rsub", "addcmul", "addcdiv", "lerp", "index_put", "index_add", "index_copy",
                       "masked_scatter", "scatter", "scatter_add", "scatter_reduce", "copysign", "logaddexp",
                       "_foreach_add"})
# Choices between activations and another tensor: a constant or learned value put in place of
# activations is a bias (nonzero padding written another way).
FILLS = frozenset({"where", "masked_fill"})
# Learned thresholds (a learned clipping level): judged like learned multipliers.
THRESHOLDS = frozenset({"maximum", "minimum", "fmax", "fmin", "clamp", "clip", "clamp_min", "clamp_max", "hardtanh"})
# Products element by element: a learned multiplier is a per-channel scale unless it differs per position.
PRODUCTS = frozenset({"mul", "div", "true_divide", "_prelu_kernel", "prelu", "pow", "xlogy", "hypot", "atan2",
            "floor_divide", "remainder", "fmod", "_weight_norm", "_weight_norm_interface"})
# torch.tensor(...) in forward lifts a fresh constant; lifted activations stay activations
LITERALS = frozenset({"lift_fresh", "lift", "lift_fresh_copy"})
# New values shaped like an operand, none of its values: a dropout mask is not the activation it
# masks. Random draws count only as fills in place (x.bernoulli_(p)); drawn from a tensor's values
# (torch.normal(x, 0.0) is x), they follow those values
FRESH = frozenset({"empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
                   "randint_like", "new_empty", "new_zeros", "new_ones", "new_full", "new_empty_strided"})
FILLED = frozenset({"bernoulli_", "uniform_", "normal_", "random_", "zero_", "exponential_", "geometric_", "cauchy_",
                    "log_normal_"})
CONCATENATIONS = frozenset({"cat", "stack", "hstack", "vstack", "concat", "concatenate", "_cat"})
STACKS = frozenset({"stack"})  # concatenations along a new dimension
# Borders added around a map: zeros, or copies of its edge (reflected, replicated), which are no
# more map than zeros are (a kernel that spans the map with them is dense)
PADDINGS = frozenset({"constant_pad_nd", "pad", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                      "replication_pad1d", "replication_pad2d", "replication_pad3d", "_pad_circular", "_pad_enum"})
# A map made larger by interpolation: more positions, no more of the map (see _spread)
UPSAMPLES = frozenset({"upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
                       "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "upsample_linear1d",
                       "upsample_bilinear2d", "_upsample_bilinear2d_aa", "upsample_bicubic2d", "_upsample_bicubic2d_aa",
                       "upsample_trilinear3d"})
# Cyclic shifts along the map: a position then holds another's value, from anywhere on the map
ROLLS = frozenset({"roll"})
# Ops that only move values: a map keeps its positions if its spatial dims keep shape and strides.
MOVES = frozenset({"view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "expand", "permute", "transpose", "t",
         "movedim", "squeeze", "unsqueeze", "flatten", "unflatten", "im2col", "col2im", "pixel_shuffle",
         "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "unfold", "swapaxes", "swapdims",
         "alias", "repeat", "tile", "repeat_interleave", "view_as_real", "view_as_complex"})
# Moves that keep the values' logical order whatever their layout in memory (a channels-last map flattened)
RESHAPES = frozenset({"view", "_unsafe_view", "reshape", "_reshape_alias", "flatten", "unflatten"})
SLICES = frozenset({"slice", "narrow", "select", "index", "index_select", "split", "split_with_sizes", "chunk",
          "unbind", "unsafe_split", "tensor_split", "gather", "take_along_dim"})
# Values put at positions an index tensor names: the map's positions are then anywhere
SCATTERS = frozenset({"take", "masked_select", "scatter", "scatter_add", "scatter_reduce", "index_put", "index_add",
                      "index_copy", "masked_scatter", "put", "as_strided_scatter", "diagonal_scatter"})
# A tensor with another written into a slice of it: the map's positions stay where the slice is
SLICE_SCATTERS = frozenset({"slice_scatter", "select_scatter"})
REDUCTIONS = frozenset({"mean", "sum", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "logsumexp",
              "norm", "linalg_vector_norm", "prod", "nansum", "nanmean", "median", "nanmedian", "mode",
              "argmax", "argmin", "aminmax", "any", "all", "count_nonzero"})
MAX_POOLS = frozenset({"max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
             "max_pool3d_with_indices", "_max_pool2d", "mkldnn_max_pool2d"})
AVG_POOLS = frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d"})
ADAPTIVE_POOLS = frozenset({"_adaptive_avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_avg_pool3d",
                  "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool3d", "_adaptive_avg_pool1d"})
# BatchNorm's running statistics, at these places of the normalizations that take them, are
# updated, not learned (most of these ops do not say so in their schema)
STATISTICS = {name: (3, 4) for name in ("native_batch_norm", "_native_batch_norm_legit",
                                        "_native_batch_norm_legit_no_training", "batch_norm", "cudnn_batch_norm",
                                        "_batch_norm_impl_index", "_batch_norm_with_update",
                                        "_batch_norm_no_update", "instance_norm", "miopen_batch_norm")}
VARIES_TOLERANCE = 0.01  # an output within 1% of the reference pass's does not vary with the input
MOVES_TOLERANCE = 1e-6  # one within float noise of it is the same values


@dataclass(frozen=True)
class Tag:
    """What is known of a tensor in the watched pass."""

    input: bool = False  # varies with the input images
    moves: bool = False  # differs at all from the reference pass's (a big offset hides small changes from `input`)
    learned: bool = False  # computed from learned state
    positions: tuple[int, ...] = ()  # sizes of the spatial dimensions (the trailing ones); () for none
    flat: bool = False  # the map's positions were folded into features
    content: tuple[int, ...] = ()  # sizes of the map before zero padding, when it was padded
    rf: tuple[int, ...] = ()  # receptive field per spatial dimension, input pixels
    jump: tuple[int, ...] = ()  # input pixels between neighbouring positions
    is_global: bool = False  # every position sees the whole input (after global pooling)


CONSTANT, LEARNED = Tag(), Tag(learned=True)


@dataclass
class Finding:
    """An operation that breaks a rule."""

    rule: str
    where: str
    message: str


@dataclass
class Watch:
    """What one watched pass saw."""

    output: object
    findings: list[Finding]
    macs: int  # whole batch
    receptive_field: int
    layers: list[Layer] = field(default_factory=list)
    externals: dict[int, torch.Tensor] = field(default_factory=dict)  # state read that the model does not hold
    outputs: list[torch.Tensor | None] = field(default_factory=list)  # each op's first output (reference pass)
    output_tag: Tag | None = None  # what the watcher knows of the output (None: it never saw it made)


def _named_args(func, args, kwargs) -> dict:
    """Arguments by their schema names (input, weight, bias, stride, ...)."""
    try:
        names = [a.name for a in func._schema.arguments]
    except AttributeError:
        return dict(kwargs)
    return dict(zip(names, args)) | kwargs


def _tuple(value, n: int, default: int) -> tuple[int, ...]:
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        value = default
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    return value * n if len(value) == 1 else value


def storage_key(t: torch.Tensor) -> tuple:
    try:
        return (t.device.type, t.untyped_storage().data_ptr())
    except (RuntimeError, NotImplementedError):
        return ("id", id(t))


def varies(a: torch.Tensor, b: torch.Tensor, tolerance: float = VARIES_TOLERANCE) -> bool:
    """Whether two outputs of the same operation on different inputs differ by more than
    `tolerance` (1%) of their scale."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return True
    if not a.is_floating_point():
        return not torch.equal(a, b)
    a, b = a.detach().float(), b.detach().float()
    scale = max(float(a.abs().max()), float(b.abs().max())) if a.numel() else 0.0
    return float((a - b).abs().max()) > tolerance * scale if a.numel() else False


class _Watcher(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ to keep torch.compile out of it, which imports
        # torch._dynamo at the first operation: 1.3 s of every judged file. Nothing is compiled
        # while a model is watched, so the wrapper is not needed.
        return False

    def __init__(self, model: nn.Module, example: torch.Tensor, learned_storages: set, reference: list | None,
                 strict: bool):
        super().__init__()
        self.strict = strict
        self.batch = example.shape[0]
        self.root = type(model).__name__
        self.learned_storages = learned_storages
        self.reference = reference  # None: this is the reference pass; record outputs
        self.outputs: list[torch.Tensor | None] = []
        k = example.dim() - 2
        self.tags: dict[int, Tag] = {}
        self.keep: list[torch.Tensor] = []  # tagged tensors stay alive, so their ids stay unique
        self.externals: dict[int, torch.Tensor] = {}
        self.written: dict[tuple, _Written] = {}  # storages written in place in this pass, and what they hold
        self.stack: list[str] = []  # module paths of the calls under way
        self.kinds: list[str] = []  # and their class names
        self.findings: list[Finding] = []
        self.macs = 0
        self.max_rf = 0
        self.module_macs: dict[str, int] = {}
        self.index = 0
        self._tag(example, Tag(input=True, moves=True, positions=tuple(example.shape[2:]), rf=(1,) * k,
                               jump=(1,) * k))

    # -- bookkeeping -------------------------------------------------------------------------
    def _tag(self, t: torch.Tensor, tag: Tag) -> None:
        self.tags[id(t)] = tag
        self.keep.append(t)
        if tag.input and tag.rf and not tag.is_global:
            self.max_rf = max(self.max_rf, max(tag.rf))

    def tag_of(self, t: torch.Tensor) -> Tag:
        tag = self.tags.get(id(t))
        written = self.written.get(storage_key(t)) if self.written else None
        if written is not None:  # a buffer written in place: what it holds now, whatever it held when tagged
            read = written.read(t)
            read = replace(read, learned=read.learned or (tag is not None and tag.learned))
            if tag is None:
                self._tag(t, read)
            self.tags[id(t)] = read
            return read
        if tag is not None:
            return tag
        # Not made in this pass: state the model reads (a parameter, a buffer, a tensor in a list
        # or a global). Learned when it gets a gradient or shares storage with a learned tensor.
        self.externals[id(t)] = t
        learned = t.requires_grad or storage_key(t) in self.learned_storages
        tag = LEARNED if learned else CONSTANT
        self._tag(t, tag)
        return tag

    @property
    def where(self) -> str:
        return self.stack[-1] if self.stack and self.stack[-1] else f"{self.root}.forward"

    def _find(self, rule: str, message: str) -> None:
        self.findings.append(Finding(rule, self.where, message))

    def _count_macs(self, macs: int) -> None:
        self.macs += macs
        key = self.stack[-1] if self.stack else ""
        self.module_macs[key] = self.module_macs.get(key, 0) + macs

    # -- the mode ----------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # what the operation writes in place, as it was before (a resize_ moves it to another storage)
        targets = [(t, self.tag_of(t)) for t in written_arguments(func, args, kwargs)]
        out = func(*args, **kwargs)
        self._judge(func, args, kwargs, out)
        if targets:
            self._wrote_all(func, args, kwargs, out, targets)
        return out

    def _judge(self, func, args: tuple, kwargs: dict, out) -> None:
        """Judge one operation and tag its outputs."""
        name, base = _names(func)
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        index, self.index = self.index, self.index + 1
        if self.reference is None:
            self.outputs.append(outputs[0].detach().clone() if outputs else None)
        if base in LITERALS and args and isinstance(args[0], torch.Tensor) and id(args[0]) in self.tags:
            self._tag(out, self.tags[id(args[0])])  # lifted from this pass: the same values
            return
        filled = name in FILLED and not any(isinstance(a, torch.Tensor) for a in [*args[1:], *kwargs.values()])
        if base in LITERALS or base in FRESH or filled:  # torch.tensor(...), a mask: constants, not state
            for t in outputs:
                self._tag(t, CONSTANT)
            return
        named = _named_args(func, args, kwargs)
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        tags = [self.tag_of(t) for t in inputs]
        if self.written and base != "copy" and not (outputs and inputs and _aliases(outputs[0], inputs[0])):
            self._read_beside(inputs)  # (a view or a copy moves a buffer's values; the copy's target tracks them)
        acts = [(t, g) for t, g in zip(inputs, tags) if g.input]
        learned = any(g.learned for g in tags)
        weights = any(g.learned and not g.input for g in tags)  # learned, and not varying with the input
        if not acts:
            moved = any(g.moves for g in tags)
            for i, t in enumerate(outputs):
                moves = i == 0 and moved and self._moves(index, t)
                self._tag(t, replace(LEARNED if learned else CONSTANT, moves=moves))
            return
        # the main operand: shaped like the output (x in x * gate), then the larger map, then the wider view
        x, info = max(acts, key=lambda a: (bool(outputs) and a[0].shape == outputs[0].shape,
                                           math.prod(a[1].positions), max(a[1].rf, default=0), a[0].numel()))
        folds = False  # whether this operation moves the map's positions into other dimensions
        if base in CONVOLUTIONS:
            info, folds = self._convolution(named, x, info, outputs)
        elif base in NORMALIZATIONS:
            self._normalization(base, named, acts, outputs)
        elif base in CONTRACTIONS:
            if learned:  # a laundered weight (learned and scaled by the input) is still a weight here
                self._find(NO_FC, f"aten.{name} multiplies activations by a learned matrix: a fully "
                                  "connected layer; use convolutions")
            if outputs:
                self._count_macs(outputs[0].numel() * (x.shape[-1] if x.dim() else 1))
        elif base in ADDITIONS and not (name.endswith("_") and isinstance(args[0], torch.Tensor)
                                        and not self.tag_of(args[0]).input):
            self._addition(base, named, inputs, tags)  # (an in-place update of state is not an addition to activations)
        elif base in PRODUCTS or base in THRESHOLDS:
            folds = self._product(x, info, inputs, tags, outputs)
        elif base in FILLS:
            self._fill(inputs, tags)
        elif base in CONCATENATIONS or base in PADDINGS:
            self._joined(base, named, inputs, tags)
        elif weights:
            self._find(NO_FC, f"aten.{name} combines a learned tensor with activations; nas accepts "
                              "convolutions, per-channel scales and normalization layers there")
        # whatever folded features (positions moved into channels) enter is folded too, and so are
        # a map's values gathered by flat index or written among another tensor's (not into its own)
        folds = folds or any(g.flat for _, g in acts) or (base in SCATTERS and self._scatters(base, named, args))
        for i, t in enumerate(outputs):
            tag = self._follow(base, named, x, info, t)
            if folds and (math.prod(info.positions) > 1 or info.flat):
                tag = replace(tag, flat=True, positions=(), content=())
            tag = replace(tag, learned=tag.learned or learned)
            # (a copy moves values, made and judged before: a buffer's unwritten bytes, as large as
            # they come, would hide how little its activations differ from the reference pass's)
            if i == 0 and self.reference is not None and index < len(self.reference) and base != "copy":
                before = self.reference[index]
                if before is not None and not varies(t, before):  # does not depend on the input
                    tag = replace(LEARNED if tag.learned else CONSTANT, moves=self._moves(index, t))
            self._tag(t, tag)

    def _wrote_all(self, func, args: tuple, kwargs: dict, out, targets: list) -> None:
        """Follow what an operation wrote in place into each of `targets` (tensor, tag before)."""
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        written = {id(t) for t, _ in targets}
        sources = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor) and id(t) not in written]
        copy = _names(func)[1] == "copy"
        for i, (target, before) in enumerate(targets):
            if any(target is o for o in outputs):  # add_, an out= argument: tagged as the operation's output
                after = self.tags.get(id(target), before)
            elif outputs and id(outputs[0]) in self.tags:  # a statistic kept on the side (a batch norm's mean)
                made = self.tags[id(outputs[0])]
                after = replace(made, positions=(), content=(), is_global=made.input and not made.flat)
            else:  # a list written from a list (torch._foreach_copy_): from its counterpart, else all read
                pick = [sources[i]] if len(sources) == len(targets) else sources
                tags = [self.tag_of(t) for t in pick]
                after = Tag(input=any(g.input for g in tags), learned=any(g.learned for g in tags),
                            flat=any(g.flat for g in tags))
            self._wrote(target, before, after, sources[0] if copy and sources else None)

    def _wrote(self, target: torch.Tensor, before: Tag, after: Tag, source: torch.Tensor | None) -> None:
        """`target` was written in place (copied from `source`), its tag `before` becoming `after`:
        remember which values of its storage now hold activations, so that a read of the whole
        buffer, or of another view of it, sees them (`buf[:, 1:] = h` writes into a view of buf; at
        the dispatch level nothing links buf to that view but their storage), and so that a
        constant written among activations (`h[:, 0] = 1.0`) is seen as one."""
        key = storage_key(target)
        known = self.written.get(key)
        new = before.input != after.input or (after.flat and not before.flat) or \
            (after.learned and not after.input and not before.learned)
        if key[0] == "id" or key in self.learned_storages or target.untyped_storage().nbytes() == 0 or \
                (known is None and not new):
            return  # a weight updated in place (judged as such), nothing to read back, or nothing new
        if not after.input:  # a constant or a learned value written, over activations or beside them
            self.written[key] = _Written.merge(known, target, before, before.input, False, after.learned)
            return
        # a copy from a buffer carries which of its values are activations (circular padding copies
        # the map's edges, and for a while the corners it has not written yet)
        origin = self.written.get(storage_key(source)) if isinstance(source, torch.Tensor) else None
        self.written[key] = _Written.merge(known, target, after, before.input,
                                           origin.covering(source) if origin is not None else True, False)

    def _read_beside(self, inputs: list) -> None:
        for t in inputs:
            written = self.written.get(storage_key(t))
            if written is not None and not written.reported and written.constant_beside(t):
                written.reported = True
                self._find(NO_BIAS, "activations written into a tensor that holds a constant or learned value "
                                    "beside them give the next layer a bias; write them into zeros")

    def _scatters(self, base: str, named: dict, args: tuple) -> bool:
        """Whether a scatter moves a map's values to other positions: a gather by flat index
        always; a write among another tensor's values unless it only picks channels (out[:, perm] = h)."""
        if base in ("take", "masked_select"):
            return True
        if not isinstance(args[0], torch.Tensor) or self.tag_of(args[0]).input:
            return False  # into a map of activations: its own positions
        indices = named.get("indices") if base == "index_put" else None
        if isinstance(indices, (list, tuple)) and args[0].dim() > 2:
            return any(i is not None for i in list(indices)[2:])  # an index along the map's dimensions
        return True

    def _moves(self, index: int, t: torch.Tensor) -> bool:
        """Whether output `t` of the operation at `index` differs at all from the reference pass's."""
        before = self.reference[index] if self.reference is not None and index < len(self.reference) else None
        return before is not None and varies(t, before, MOVES_TOLERANCE)

    # -- judging -----------------------------------------------------------------------------
    def _convolution(self, named: dict, x: torch.Tensor, info: Tag, outputs: list) -> tuple[Tag, bool]:
        """Judge a convolution; (the output's receptive field, whether it folds the map into channels)."""
        weight, bias = named.get("weight"), named.get("bias")
        n = x.dim() - 2
        stride = _tuple(named.get("stride"), n, 1)
        dilation = _tuple(named.get("dilation"), n, 1)
        kernel = tuple(weight.shape[2:]) if weight is not None else (1,) * n
        extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
        size = info.content or tuple(x.shape[2:])  # zero padding added around a map is not map
        covers = math.prod(size) > 1 and any(e >= s for e, s in zip(extent, size) if s > 1)
        weight_learned = weight is not None and self.tag_of(weight).learned
        if weight_learned and info.flat:
            self._find(NO_FC, "a convolution over a flattened map (its positions folded into channels) is a "
                              "fully connected layer; keep the map's shape, or pool it globally first")
        elif weight_learned and covers:
            kernel_text = "×".join(map(str, kernel)) + (f" kernel (dilation {'×'.join(map(str, dilation))}, "
                                                        f"spanning {'×'.join(map(str, extent))})"
                                                        if any(d > 1 for d in dilation) else " kernel")
            self._find(NO_FC, f"a {kernel_text} on a {'×'.join(map(str, size))} map spans the whole map in a "
                              "dimension: a fully connected layer in disguise; use a kernel smaller than the "
                              "map, or global average pooling then a 1×1 convolution")
        if bias is not None and self.tag_of(bias).learned:
            self._find(NO_BIAS, "the convolution adds a learned bias; create it with bias=False")
        if outputs and weight is not None:
            self._count_macs(outputs[0].numel() * weight.shape[1] * math.prod(kernel))
        # a fixed kernel as large as the map (space-to-depth) moves positions into channels
        return _grow(info, kernel, stride, dilation), covers and not weight_learned

    def _normalization(self, base: str, named: dict, acts: list, outputs: list) -> None:
        weight, bias = named.get("weight"), named.get("bias")
        # a layer norm's weight is shaped like the trailing dimensions it normalizes: when those are
        # all the map's, it weighs every position apart (over channels only, as ConvNeXt's after a
        # permute, it does not: the check sees the permuted map's last dimension as spatial)
        if base in LAYER_NORMS and isinstance(weight, torch.Tensor) and self.tag_of(weight).learned and outputs \
                and (_spans_all_positions(weight, outputs[0], acts) or (weight.numel() > 1 and any(
                    g.flat for _, g in acts))):
            self._find(NO_FC, "a normalization whose learned weight differs per spatial position is a fully "
                              "connected layer spread over the map; normalize over channels only")
        if bias is not None and self.tag_of(bias).learned and self.strict:
            kind = self.kinds[-1] if self.kinds else self.root
            self._find(NO_BIAS, f"{kind}: the normalization's affine shift is a learned bias (forbidden by "
                                "--strict); create it with affine=False")

    def _addition(self, base: str, named: dict, inputs: list, tags: list) -> None:
        terms = list(zip(inputs, tags))
        if base in ("addcmul", "addcdiv"):  # self + value · t1 ∘ t2: the product is one term
            t1, t2 = self.tag_of(named["tensor1"]), self.tag_of(named["tensor2"])
            product = Tag(input=t1.input or t2.input, learned=t1.learned or t2.learned, moves=t1.moves or t2.moves)
            terms = [(named["self"], self.tag_of(named["self"])), (None, product)]
        if any(g.input for _, g in terms) and any(g.learned and not g.input for _, g in terms):
            self._find(NO_BIAS, f"aten.{base} adds a learned tensor that does not depend on the input to "
                                "activations: an additive bias; remove it")

    def _product(self, x: torch.Tensor, info: Tag, inputs: list, tags: list, outputs: list) -> bool:
        """Judge an element-by-element product or threshold; returns whether a constant multiplier
        spreads the map's positions over a new dimension (constant masks, one per position)."""
        acts = [(t, g) for t, g in zip(inputs, tags) if g.input]
        for t, g in zip(inputs, tags):
            if t is x or (g.input and not info.flat):
                continue  # an input-dependent gate (SE) scales as it likes
            if not g.learned:
                if outputs and _fans_out(t, outputs[0], acts) and _spans_positions(t, outputs[0], acts):
                    return True
                continue
            if info.flat and t.numel() > 1:
                self._find(NO_FC, "a learned multiplier on flattened activations weighs every position "
                                  "separately: a fully connected layer; use convolutions")
                return False
            if outputs and _fans_out(t, outputs[0], acts):
                self._find(NO_FC, "a learned multiplier spreads activations over a dimension they do not have "
                                  "(an outer product, summed next into a dense layer); use a 1×1 convolution")
                return False
            if outputs and _spans_positions(t, outputs[0], acts):
                self._find(NO_FC, "a learned multiplier that differs per spatial position is a fully "
                                  "connected layer spread over the map; use a per-channel scale")
                return False
        return False

    def _fill(self, inputs: list, tags: list) -> None:
        for t, g in zip(inputs, tags):
            if not g.input and t.dtype != torch.bool and (g.learned or bool(torch.any(t != 0))):
                self._find(NO_BIAS, "putting a constant or learned value in place of activations gives the next "
                                    "layer a bias (nonzero padding written another way); use zeros")
                return

    def _joined(self, base: str, named: dict, inputs: list, tags: list) -> None:
        if base in PADDINGS:
            if float(named.get("value", 0) or 0) != 0:
                self._find(NO_BIAS, "padding activations with a nonzero constant gives the next convolution a "
                                    "bias at the border; pad with zeros")
            return
        for t, g in zip(inputs, tags):
            if not g.input and (g.learned or bool(torch.any(t != 0))):
                self._find(NO_BIAS, "joining activations with a tensor that does not depend on the input "
                                    "(a constant or learned channel) gives the next layer a bias; remove it")
                return

    # -- positions and receptive fields ------------------------------------------------------
    def _joined_map(self, named: dict, out: torch.Tensor, info: Tag, positions: tuple[int, ...]) -> Tag:
        """The tag of maps joined by torch.cat along one of their positions' dimensions. What is
        put beside activations and is not activations (zeros, a constant) is border, as padding
        is, so a kernel on the joined map is judged by the real map's size (a piece joined twice
        counts once). Slices of one map joined out of their order (`cat([h[..., i:], h[..., :i]])`,
        a roll written out) move each position to another's place: the map is folded."""
        k, dim = len(positions), named.get("dim", 0) % out.dim()
        d = dim - (out.dim() - k)  # the spatial dimension joined along
        pieces = [(t, self.tag_of(t)) for t in named.get("tensors", ()) if isinstance(t, torch.Tensor)]
        maps = [(t, g) for t, g in pieces if g.input and len(g.positions) == k]
        if d < 0 or not maps:
            return replace(info, positions=positions, content=())
        for (a, _), (b, _) in zip(maps, maps[1:]):
            if _aliases(a, b) and b.storage_offset() < a.storage_offset():
                return replace(info, flat=True, positions=(), content=())
        # a copy of a piece joined again adds no map (cat([h, h]) tiles it: a kernel spanning one
        # copy spans the map)
        distinct = [(t, g) for i, (t, g) in enumerate(maps)
                    if not any(u.shape == t.shape and torch.equal(u, t) for u, _ in maps[:i])]
        real = sum((g.content or g.positions)[d] for _, g in distinct)
        content = tuple(real if i == d else size for i, size in enumerate(info.content or info.positions))
        return replace(info, positions=positions, content=content if content != positions else ())

    def _follow(self, base: str, named: dict, x: torch.Tensor, info: Tag, out: torch.Tensor) -> Tag:
        """The tag of an output, from the main activation operand `x` (tag `info`)."""
        if info.is_global or not info.positions:
            return replace(info, positions=())
        k = len(info.positions)
        if base in CONVOLUTIONS:
            return replace(info, positions=tuple(out.shape[2:]) if out.dim() > 2 else (), content=())
        if base in MAX_POOLS or base in AVG_POOLS:
            n = x.dim() - 2
            kernel = _tuple(named.get("kernel_size"), n, 1)
            stride = _tuple(named.get("stride"), n, 1) if named.get("stride") else kernel
            dilation = _tuple(named.get("dilation"), n, 1) if base in MAX_POOLS else (1,) * n
            info = replace(_grow(info, kernel, stride, dilation), positions=tuple(out.shape[2:]))
            return _globalize(info, x, out)
        if base in ADAPTIVE_POOLS:
            size = tuple(out.shape[2:])
            kernel = tuple(math.ceil(i / max(o, 1)) for i, o in zip(info.positions, size))
            return _globalize(replace(_grow(info, kernel, kernel, (1,) * len(kernel)), positions=size), x, out)
        if base in REDUCTIONS:
            dims = named.get("dim")
            dims = range(x.dim()) if dims is None or dims == [] else ([dims] if isinstance(dims, int) else dims)
            reduced = {d % x.dim() for d in dims}
            kept = tuple(s for d, s in enumerate(x.shape[x.dim() - k:], x.dim() - k) if d not in reduced)
            if math.prod(kept) <= 1:
                return replace(info, positions=(), is_global=True)
            return replace(info, positions=kept)
        if base in SLICE_SCATTERS and len(out.shape) >= k and tuple(out.shape[-k:]) != info.positions:
            return replace(info, positions=tuple(out.shape[-k:]), content=info.content or info.positions)
        if base in UPSAMPLES:
            size = tuple(out.shape[-k:])
            return replace(info, positions=size, content=_spread(info.content or info.positions,
                                                                 tuple(x.shape[-k:]), size))
        if base == "pixel_shuffle":  # channels moved into space: a larger map, each position still local
            return replace(info, positions=tuple(out.shape[-k:]), content=())
        if base in PADDINGS:
            if float(named.get("value", 0) or 0) == 0:  # zeros around the map: remember its real size
                return replace(info, positions=tuple(out.shape[-k:]), content=info.content or info.positions)
            return replace(info, positions=tuple(out.shape[-k:]), content=())
        if base in STACKS and named.get("dim", 0) % out.dim() < out.dim() - k:
            return replace(info, positions=tuple(out.shape[-k:]), content=())  # a new dimension before the map's
        if base in SLICES or base in CONCATENATIONS:
            k_out = k - (x.dim() - out.dim())
            positions = tuple(out.shape[out.dim() - k_out:]) if k_out > 0 else ()
            if base in SLICES and math.prod(positions) <= 1 < math.prod(info.positions):
                return replace(info, flat=True, positions=(), content=())  # one position picked out of many
            if base in CONCATENATIONS and len(positions) == k and positions != info.positions:
                return self._joined_map(named, out, info, positions)
            return replace(info, positions=positions, content=())
        if base in ROLLS:
            shifts, dims = list(_tuple(named.get("shifts"), 1, 0)), named.get("dims") or []
            dims = [dims] if isinstance(dims, int) else list(dims)
            spatial = range(x.dim() - k, x.dim())
            if not dims or any(d % x.dim() in spatial and shift % x.shape[d] for d, shift in zip(dims, shifts)):
                return replace(info, flat=True, positions=(), content=())
            return info
        if base not in MOVES:
            return info  # element by element
        lead = x.dim() - k
        if out.dim() >= k and tuple(out.shape[-k:]) == info.positions and out.stride()[-k:] == x.stride()[-k:]:
            return info  # a view that leaves the spatial dims alone
        if out.dim() > lead and tuple(out.shape[:lead]) == tuple(x.shape[:lead]) and \
                math.prod(out.shape[lead:]) == math.prod(info.positions) and \
                (x.is_contiguous() or base in RESHAPES):
            return replace(info, positions=tuple(out.shape[lead:]), content=())  # positions reshaped among themselves
        if math.prod(info.positions) > 1:
            return replace(info, flat=True, positions=(), content=())  # positions folded into features
        return info


@dataclass
class _Written:
    """What was written into a buffer's storage: the activations' tag (flags merged over all
    writes), the map's sizes and trailing strides in the largest write, and for each byte of the
    storage whether it holds activations, and whether a learned value was written there (bytes,
    not elements: a write through a view of another dtype covers what it covers)."""

    tag: Tag
    positions: tuple[int, ...]
    strides: tuple[int, ...]
    covered: torch.Tensor  # bool, one per byte of the storage: holds activations
    learned: torch.Tensor  # bool, one per byte: a learned value was written there
    reported: bool = False  # a read of values beside them has been reported

    @classmethod
    def merge(cls, before: _Written | None, target: torch.Tensor, tag: Tag, was_activations: bool,
              covering: torch.Tensor | bool, learned: bool) -> _Written:
        """What `before` (None: the storage was not followed yet; `was_activations`: it held them
        all) becomes when `target` is written with `tag`'s values, which are activations where
        `covering` is True (a bool, or one per value of `target`), and learned if `learned`."""
        k = len(tag.positions)
        if before is None:
            size = target.untyped_storage().nbytes()
            covered = torch.full((size,), was_activations, dtype=torch.bool)
            learned_bytes = torch.zeros(size, dtype=torch.bool)
        else:
            covered, learned_bytes = before.covered, before.learned
        values = covering if isinstance(covering, bool) else covering.cpu().unsqueeze(-1)
        _bytes(covered, target).copy_(values)
        _bytes(learned_bytes, target).copy_(learned)
        here = cls(tag, tag.positions, tuple(target.stride()[-k:]) if k else (), covered, learned_bytes)
        if before is None:
            return here
        big = max(before, here, key=lambda w: math.prod(w.positions) if w.positions else 0)
        # two maps written whose positions lie along different strides: one of them is spread
        # over what the buffer's reads take for other dimensions (a map's values as channels)
        scattered = bool(before.positions and here.positions) and before.strides != here.strides
        flags = replace(big.tag, learned=before.tag.learned or tag.learned, moves=before.tag.moves or tag.moves,
                        flat=before.tag.flat or tag.flat or scattered)
        return replace(big, tag=flags, reported=before.reported)

    def covering(self, t: torch.Tensor) -> torch.Tensor:
        """Which of `t`'s values (a view of the buffer) are activations, all their bytes, shaped like it."""
        return _bytes(self.covered, t).all(-1)

    def constant_beside(self, t: torch.Tensor) -> bool:
        """Whether `t` reads values of the buffer that are not activations: nonzero, or learned."""
        beside = ~self.covering(t)
        if not bool(beside.any()):
            return False
        return bool(_bytes(self.learned, t).any(-1)[beside].any()) or bool((t.detach().cpu()[beside] != 0).any())

    def read(self, t: torch.Tensor) -> Tag:
        """The tag of `t`, a view of the buffer: the written map where its trailing dimensions
        lie as they were written, or spread out by whole steps (zeros put between its values, to
        upsample it); the rest of a larger buffer is border, as zero padding is. Else the map
        folded into features."""
        tag, k = self.tag, len(self.positions)
        if tag.flat or tag.is_global or not k:
            return tag
        strides = tuple(t.stride()[-k:]) if t.dim() >= k else ()
        if strides == self.strides:
            size = tuple(t.shape[-k:])
            padded = size != self.positions and all(s >= p for s, p in zip(size, self.positions))
            return replace(tag, positions=size, content=self.positions if padded else ())
        if strides and all(r > 0 and w % r == 0 and w > r for r, w in zip(strides, self.strides)):
            size = tuple(t.shape[-k:])
            steps = tuple(p * w // r for p, r, w in zip(self.positions, strides, self.strides))
            return replace(tag, positions=size, content=_spread(self.positions, self.positions, steps))
        return replace(tag, flat=math.prod(self.positions) > 1, positions=(), content=())


def _spread(real: tuple[int, ...], before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, ...]:
    """The real map's size once a map of `before` positions is spread over `after` (upsampled, or
    zeros put between its values): the span from its first value to its last, so that a kernel
    (dilated, say) reaching across it is judged as spanning the map. () where that is all of it."""
    spans = tuple(round((r - 1) * a / b) + 1 for r, b, a in zip(real, before, after))
    return () if spans == after else spans


def _names(func) -> tuple[str, str]:
    """An operation's name, and its base: add_ is add."""
    name = func.overloadpacket.__name__ if hasattr(func, "overloadpacket") else str(func)
    return name, name.rstrip("_") or name


def _aliases(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors share their storage (a view of the other, or the same)."""
    return storage_key(a) == storage_key(b)


def _bytes(flat: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """The bytes of `flat` (one per byte of `view`'s storage) that each value of `view` covers,
    shaped like it with one more dimension, the value's bytes."""
    e = view.element_size()
    return flat.as_strided((*view.shape, e), (*(s * e for s in view.stride()), 1), view.storage_offset() * e)


def statistics_places(op) -> tuple[int, ...]:
    """Places of the running statistics among a normalization's arguments."""
    try:
        return STATISTICS.get(op._schema.name.removeprefix("aten::"), ())
    except AttributeError:
        return ()


def written_arguments(op, args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """The tensors `op` updates in place: as its schema says (self of add_, out=, every tensor of
    a list for torch._foreach_copy_), and a batch norm's running statistics when it trains."""
    try:
        arguments = op._schema.arguments
    except AttributeError:
        return []
    found = [args[i] if i < len(args) else kwargs.get(a.name) for i, a in enumerate(arguments)
             if a.alias_info is not None and a.alias_info.is_write]
    training = len(args) > 5 and args[5] is True  # (input, weight, bias, mean, var, training, ...)
    found += [args[i] for i in statistics_places(op) if training and i < len(args)]
    return [t for t in {id(t): t for t in tree_flatten(found)[0] if isinstance(t, torch.Tensor)}.values()]


def _values_shape(weight: torch.Tensor, dims: int) -> tuple[int, ...]:
    """`weight`'s shape broadcast to `dims` dimensions, 1 where it holds one value (a dimension it
    was expanded along, stride 0: gamma.expand_as(x) is still one scale per channel)."""
    return (1,) * (dims - weight.dim()) + tuple(1 if stride == 0 else size
                                                 for size, stride in zip(weight.shape, weight.stride()))


def _fans_out(weight: torch.Tensor, out: torch.Tensor, acts: list) -> bool:
    """Whether `weight`, broadcast to `out`, has extent along a dimension where every activation has none."""
    def aligned(t: torch.Tensor) -> tuple[int, ...]:
        return (1,) * (out.dim() - t.dim()) + tuple(t.shape)

    shape = _values_shape(weight, out.dim())
    return any(shape[d] > 1 and all(aligned(x)[d] == 1 for x, _ in acts) for d in range(out.dim()))


def _spans_positions(weight: torch.Tensor, out: torch.Tensor, acts: list) -> bool:
    """Whether `weight`, broadcast to `out`, differs along a spatial dimension of an activation."""
    for x, g in acts:
        k = len(g.positions)
        if k == 0 or math.prod(g.positions) <= 1:
            continue
        shape = _values_shape(weight, out.dim())
        if any(shape[d] > 1 for d in range(out.dim() - k, out.dim()) if d >= 0):
            return True
    return False


def _spans_all_positions(weight: torch.Tensor, out: torch.Tensor, acts: list) -> bool:
    """Whether `weight`, broadcast to `out`, differs along every spatial dimension of an activation's map."""
    shape = _values_shape(weight, out.dim())
    return any(math.prod(g.positions) > 1 and all(shape[d] > 1 or size == 1 for d, size in
                                                  zip(range(out.dim() - len(g.positions), out.dim()), g.positions))
               for _, g in acts)


def _grow(info: Tag, kernel, stride, dilation) -> Tag:
    """Receptive field after a sliding window (convolution or pooling)."""
    if info.is_global or len(info.rf) != len(kernel):
        return info
    rf = tuple(s + d * (k - 1) * j for s, k, d, j in zip(info.rf, kernel, dilation, info.jump))
    jump = tuple(j * s for j, s in zip(info.jump, stride))
    return replace(info, rf=rf, jump=jump)


def _globalize(info: Tag, x: torch.Tensor, out: torch.Tensor) -> Tag:
    """A map larger than 1×1 reduced to one position sees the whole input."""
    if math.prod(x.shape[2:]) > 1 and math.prod(out.shape[2:]) == 1:
        return replace(info, positions=(), is_global=True)
    return info


def own_values(module: nn.Module) -> int:
    """Values of the state tensors a module holds itself (parameters and buffers, not counters)."""
    return sum(t.numel() for t in [*module._parameters.values(), *module._buffers.values()]
               if t is not None and is_state(t))


def is_state(t: torch.Tensor) -> bool:
    """Whether a tensor counts as model state: anything but an integer scalar (a step counter such
    as BatchNorm's num_batches_tracked)."""
    if isinstance(t, nn.parameter.UninitializedTensorMixin):
        return False  # a lazy module's weight before its first call: it has no values yet
    return t.is_floating_point() or t.is_complex() or t.dim() > 0


def watch(model: nn.Module, example: torch.Tensor, learned_storages: set, strict: bool = False,
          reference: list | None = None) -> Watch:
    """Run `model(example)` under the watcher.

    Without `reference` this is a reference pass: each operation's output is kept. With the
    outputs of a reference pass on other images (same model state, same seed), outputs that equal
    theirs are taken as not depending on the input, and the rules are judged.
    """
    watcher = _Watcher(model, example, learned_storages, reference, strict)
    names = {m: name for name, m in model.named_modules()}
    calls: list[tuple[str, nn.Module, object]] = []

    def pre_hook(module, _inputs):
        watcher.stack.append(names.get(module, ""))
        watcher.kinds.append(type(module).__name__)

    def post_hook(module, _inputs, output):
        if watcher.stack:
            watcher.stack.pop()
            watcher.kinds.pop()
        calls.append((names.get(module, ""), module, output))

    handles = []
    for module in names:
        try:
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(post_hook, always_call=True))
        except (RuntimeError, AttributeError, TypeError):
            pass  # TorchScript modules take no hooks: their ops are still seen, in the parent's name
    try:
        with watcher:
            output = model(example)
    finally:
        for h in handles:
            h.remove()
    batch = max(example.shape[0], 1)
    layers = _layers(model, calls, watcher, batch) if reference is not None else []
    return Watch(output=output, findings=watcher.findings if reference is not None else [],
                 macs=watcher.macs // batch, receptive_field=watcher.max_rf, layers=layers,
                 externals=watcher.externals, outputs=watcher.outputs,
                 output_tag=watcher.tags.get(id(output)) if isinstance(output, torch.Tensor) else None)


def _layers(model: nn.Module, calls: list, watcher: _Watcher, batch: int) -> list[Layer]:
    layers, seen = [], set()
    for name, module, out in calls:
        own_macs = watcher.module_macs.get(name, 0) // batch
        is_leaf = next(module.children(), None) is None
        if not (is_leaf or own_macs or own_values(module)):
            continue  # a container: its children have the rows
        first = next((t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)), None)
        tag = watcher.tags.get(id(first)) if first is not None else None
        rf = None
        if tag is not None and tag.input:
            rf = "global" if tag.is_global else max(tag.rf, default=1)
        layers.append(Layer(name=name or type(module).__name__, type=type(module).__name__,
                            output_shape=tuple(first.shape[1:]) if first is not None else None,
                            params=0 if module in seen else own_values(module), macs=own_macs,
                            receptive_field=rf))
        seen.add(module)
    ran = {module for _, module, _ in calls}
    for name, module in model.named_modules():  # modules with state that never ran
        if module not in ran and own_values(module):
            layers.append(Layer(name=name or type(module).__name__, type=type(module).__name__,
                                output_shape=None, params=own_values(module), macs=0, receptive_field=None))
    return layers
