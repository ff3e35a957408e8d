"""The validator: judge a model against the rules by watching it run as it will be trained.

The model runs forward and backward in train mode and in eval mode, at more than one batch
size, each pass watched at the aten level (nas/trace.py). What counts as learned is what the
model does, not how its source names things: a tensor that gets a gradient, or that the model
changes itself while it runs, wherever it is stored (parameters, buffers, plain attributes,
lists, dicts, globals). The total counts everything the model holds or reads, as Keras counts:
trainable (gets a gradient) plus non-trainable (everything else, e.g. BatchNorm running stats).
Each watched pass is also run unwatched: a model that computes something else when watched is
refused, because what was checked would not be what trains.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, ContextManager

import torch
from torch import nn

from nas.data import MEAN, STD
from nas.errors import NasError, RulesBroken, describe
from nas.rules import (CHECK_BATCHES, CONSISTENT, NO_BIAS, NO_FC, OUTPUT_SHAPE, Report, Rules, Violation,
                       params_violation)
from nas.trace import is_state, storage_key, varies, watch

FC_MODULES = ("Linear", "LazyLinear", "Bilinear", "NonDynamicallyQuantizableLinear")
_SKIPPED_ATTRIBUTES = {"_modules", "_parameters", "_buffers"}  # walked through the module API instead


def reachable_tensors(model: nn.Module) -> dict[int, torch.Tensor]:
    """Every tensor the model holds: parameters, buffers, and tensors in its attributes, lists and dicts."""
    found: dict[int, torch.Tensor] = {}

    def visit(obj, depth: int) -> None:
        if isinstance(obj, torch.Tensor):
            found.setdefault(id(obj), obj)
        elif type(obj).__module__ == "numpy" and getattr(obj, "dtype", None) is not None and obj.size > 0:
            found.setdefault(id(obj), torch.from_numpy(obj.reshape(-1)) if obj.dtype.kind in "fciub" else
                             torch.empty(0))  # values kept outside torch are model state too
        elif depth < 4 and isinstance(obj, dict):
            for value in list(obj.values())[:10_000]:
                visit(value, depth + 1)
        elif depth < 4 and isinstance(obj, (list, tuple, set, frozenset)):
            for value in list(obj)[:10_000]:
                visit(value, depth + 1)

    for module in model.modules():
        for _, t in module.named_parameters(recurse=False):
            visit(t, 0)
        for _, t in module.named_buffers(recurse=False):
            visit(t, 0)
        for attribute, value in vars(module).items():
            if attribute not in _SKIPPED_ATTRIBUTES:
                visit(value, 0)
    return found


def _storage_size(t: torch.Tensor) -> int:
    """Values in the storage behind `t`: what saving it writes, even for a small view of a big one.
    A complex value is two."""
    try:
        size = max(t.untyped_storage().nbytes() // t.element_size(), t.numel())
    except (RuntimeError, NotImplementedError):
        size = t.numel()
    return size * (2 if t.is_complex() else 1)


def count_state(tensors, trainable_storages: set) -> tuple[int, int]:
    """(trainable, non-trainable) values over distinct storages; a view of a weight is not counted twice."""
    sizes: dict[tuple, int] = {}
    trainable: set[tuple] = set()
    for t in tensors:
        if not is_state(t):
            continue
        key = storage_key(t)
        sizes[key] = max(sizes.get(key, 0), _storage_size(t))
        if t.requires_grad or key in trainable_storages:
            trainable.add(key)
    learned = sum(n for key, n in sizes.items() if key in trainable)
    return learned, sum(sizes.values()) - learned


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) values the model holds, as Keras counts them."""
    return count_state(reachable_tensors(model).values(), set())


@dataclass
class SavedState:
    """The model's state, saved so that every pass starts from the same values (save_new, then
    restore after each pass)."""

    model: nn.Module
    saved: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    externals: dict[int, torch.Tensor] = field(default_factory=dict)  # read by forward, not held

    def tensors(self) -> list[torch.Tensor]:
        # tensors read in forward but not held: weights in globals count; byte tensors such as
        # an RNG state read back do not
        read = {k: t for k, t in self.externals.items() if t.is_floating_point() or t.is_complex()}
        return list((reachable_tensors(self.model) | read).values())

    def save_new(self) -> None:
        for t in self.tensors():
            if id(t) not in self.saved and is_state(t):
                self.saved[id(t)] = (t, t.detach().clone())

    def restore(self) -> None:
        with torch.no_grad():
            for t, value in self.saved.values():
                if t.shape == value.shape and t.dtype == value.dtype:
                    t.copy_(value)
                if t.is_leaf:
                    t.grad = None

    def changed(self) -> set[tuple]:
        """Storages whose values differ from the saved ones: state the model updated itself."""
        with torch.no_grad():
            return {storage_key(t) for t, value in self.saved.values()
                    if t.shape != value.shape or not torch.equal(t.detach(), value)}

    def grads(self) -> dict[int, torch.Tensor | None]:
        return {id(t): (t.grad.detach().clone() if t.grad is not None else None)
                for t, _ in self.saved.values() if t.is_leaf}


def _structure(model: nn.Module) -> list[Violation]:
    """Rules read off the modules themselves, used or not."""
    found = []
    for path, module in model.named_modules():
        kind = getattr(module, "original_name", type(module).__name__)  # TorchScript keeps the class name
        where = path or kind
        if kind in FC_MODULES or isinstance(module, (nn.Linear, nn.Bilinear)):
            found.append(Violation(NO_FC, where, f"{kind} is a fully connected layer; use global average "
                                                 "pooling and a 1×1 convolution instead"))
        elif kind.startswith(("Conv", "LazyConv")) and isinstance(getattr(module, "bias", None), torch.Tensor):
            found.append(Violation(NO_BIAS, where, f"{kind} has a bias; create it with bias=False"))
    return found


def _backward(output, probe_seed: int) -> None:
    """Backpropagate a fixed random projection of the output, so every output entry gets a gradient."""
    if isinstance(output, torch.Tensor) and output.is_floating_point() and output.requires_grad:
        weights = torch.randn(output.shape, generator=torch.Generator().manual_seed(probe_seed)).to(output.device)
        (output.float() * weights).sum().backward()


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and torch.allclose(
            a.detach().float(), b.detach().float(), rtol=1e-4, atol=1e-5)
    return type(a) is type(b)


def _output_violation(output, batch: int, rules: Rules, mode: str) -> Violation | None:
    expected = (batch, rules.num_classes)
    if not isinstance(output, torch.Tensor):
        return Violation(OUTPUT_SHAPE, "output", f"forward returned {type(output).__name__}, not a tensor of "
                                                 f"shape {expected}")
    if not output.is_floating_point():
        return Violation(OUTPUT_SHAPE, "output", f"forward returned a {str(output.dtype).removeprefix('torch.')} "
                                                 "tensor; return floating-point logits")
    if tuple(output.shape) != expected:
        return Violation(OUTPUT_SHAPE, "output", f"output shape {tuple(output.shape)} for a batch of {batch} in "
                         f"{mode} mode, expected {expected}; end with global pooling, a 1×1 conv to "
                         f"{rules.num_classes} channels and flatten")
    return None


def check(model: nn.Module, rules: Rules = Rules(), batch_sizes: tuple[int, ...] = CHECK_BATCHES,
          context: Callable[[], ContextManager] = nullcontext) -> Report:
    """Check `model` against `rules` by running it in train and eval mode at each batch size.

    Train mode runs forward and backward; eval mode runs under no_grad, as evaluation does.
    `context` wraps every pass (the trainer passes its autocast). The model's state is restored
    afterwards. Raises NasError when the model cannot be judged (its forward or backward raises).
    """
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.to(device)  # as the trainer does: state that appears in .to() is checked too
    state = SavedState(model)
    state.save_new()
    violations = _structure(model)
    learned: set[tuple] = set()
    self_updated: set[tuple] = set()
    table = None
    generator = torch.Generator().manual_seed(0)  # the same images for every model
    seed = _random_state()  # the same dropout in every pass, and no RNG state to spot
    try:
        for mode in ("train", "eval"):
            model.train(mode == "train")
            for batch in batch_sizes:
                x, other = (_images((batch, *rules.input_shape), generator, device) for _ in range(2))
                if batch == batch_sizes[0]:
                    seen, problem = _watch_closely(model, state, x, other, learned, self_updated, rules.strict,
                                                   context, seed)
                else:  # other sizes: judged for branches on the batch size, once watched and once not
                    unwatched = _run(model, state, x, None, seed=seed, context=context)
                    seen = _run(model, state, x, learned, rules.strict, [], seed, context)
                    problem = None if _same(unwatched, seen.output) else "it computes something else when watched"
                if problem:
                    violations.append(Violation(CONSISTENT, "model", f"{problem} ({mode} mode, batch {batch}), so "
                                                "what is checked would not be what trains; nas cannot judge it"))
                violations += [Violation(f.rule, f.where, f.message) for f in seen.findings]
                wrong = _output_violation(seen.output, batch, rules, mode)
                if wrong:
                    violations.append(wrong)
                if mode == "eval" and table is None:
                    table = seen
                state.externals.update(seen.externals)
                state.save_new()
    except NasError:  # nas's own words: a recorded model that does not replay (nas/graph.py)
        raise
    except (Exception, SystemExit) as exc:
        raise NasError(f"the model's forward or backward pass raised {describe(exc)}; fix the model") from exc
    finally:
        state.restore()
        model.train(was_training)
    trainable, non_trainable = count_state(state.tensors(), {k for k in learned if k not in self_updated})
    limit = params_violation(trainable + non_trainable, trainable, rules)
    unique: dict[tuple[str, str], Violation] = {}  # one line per rule and place
    for v in ([limit] if limit else []) + violations:
        unique.setdefault((v.rule, v.where), v)
    return Report(total_params=trainable + non_trainable, trainable_params=trainable,
                  non_trainable_params=non_trainable, macs=table.macs, receptive_field=table.receptive_field,
                  violations=list(unique.values()), layers=table.layers, max_params=rules.max_params,
                  model=type(model).__name__)


def _images(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Images as the trainer feeds them: sparse ink in whole 1/255 steps, normalized like MNIST,
    so that a model cannot tell the check from training by the statistics of its input."""
    ink = (torch.rand(shape, generator=generator) < 0.2) * torch.rand(shape, generator=generator)
    return ((ink * 255).round() / 255 - MEAN).div(STD).to(device)


# Up to this many draws from the generator before each pass: about what training draws before its
# first steps (a shuffle of 50,000 images, the augmentation), so its state is one training could have
RANDOM_DRAWS = 2**22


def _random_state() -> tuple[int, torch.Tensor]:
    """A seed from os.urandom, and the CPU generator's state after a random number of draws from
    it: the state a fresh seed leaves is one only the check would show (a model that was dense
    unless the state was a fresh seed's passed), and training draws before every step."""
    seed = int.from_bytes(os.urandom(4), "little")
    torch.manual_seed(seed)
    torch.rand(1 + int.from_bytes(os.urandom(4), "little") % RANDOM_DRAWS)
    return seed, torch.get_rng_state()


def _run(model: nn.Module, state: SavedState, images: torch.Tensor, learned: set | None, strict: bool = False,
         reference: list | None = None, seed: tuple[int, torch.Tensor] | None = None,
         context: Callable[[], ContextManager] = nullcontext):
    """One pass from the saved state and the random `seed` (_random_state), with gradients in train
    mode only (as training and evaluation run): unwatched when `learned` is None (the output), else
    watched (a Watch)."""
    state.restore()
    number, cpu_state = seed or _random_state()
    torch.manual_seed(number)  # every device's generator (dropout on a GPU draws from its own)
    torch.set_rng_state(cpu_state)
    with torch.set_grad_enabled(model.training), context():
        if learned is None:
            return model(images)
        return watch(model, images, learned, strict, reference)


def _watch_closely(model: nn.Module, state: SavedState, x: torch.Tensor, other: torch.Tensor, learned: set,
                   self_updated: set, strict: bool, context, seed: tuple[int, torch.Tensor]) -> tuple:
    """Run x unwatched, then watched with a reference pass on `other`, backward each time in train mode.

    Updates `learned` (state that gets a gradient or that the model changes itself) and
    `self_updated`. Returns (the judged Watch, None), or (Watch, what is wrong) when the model
    behaves differently when watched, or its output depends on the input through operations the
    watcher cannot see (numpy, an extension).
    """
    unwatched = _run(model, state, x, None, seed=seed, context=context)
    _backward(unwatched, len(x))
    self_updated |= state.changed()
    grads = state.grads()
    state.save_new()  # state that appeared on this call (lazy modules, second-call tricks)
    learned.clear()
    learned.update(self_updated, (storage_key(t) for t in state.tensors() if t.requires_grad))
    reference = _run(model, state, other, learned, strict, None, seed, context)
    seen = _run(model, state, x, learned, strict, reference.outputs, seed, context)
    _backward(seen.output, len(x))
    state.externals.update(reference.externals)
    if not (_same(unwatched, seen.output) and _same_grads(grads, state.grads())):
        return seen, "it computes something else when watched"
    hidden = seen.output_tag is None or not seen.output_tag.moves
    if hidden and isinstance(seen.output, torch.Tensor) and varies(seen.output, reference.output):
        return seen, "its output depends on the input through operations nas cannot see (numpy, an extension)"
    return seen, None


def _same_grads(before: dict, after: dict) -> bool:
    """Whether both passes gave the same gradients to the state both saw (a zero gradient is none)."""
    for key in before.keys() & after.keys():
        a, b = before[key], after[key]
        if a is None or b is None:
            if (a if a is not None else b) is not None and bool((a if a is not None else b).abs().max() > 0):
                return False
        elif not _same(a, b):
            return False
    return True


def require(model: nn.Module, rules: Rules = Rules(), batch_sizes: tuple[int, ...] = CHECK_BATCHES,
            context: Callable[[], ContextManager] = nullcontext) -> Report:
    """check(), raising RulesBroken unless every rule holds."""
    report = check(model, rules, batch_sizes, context)
    if not report.ok:
        raise RulesBroken(report)
    return report
