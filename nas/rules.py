"""The challenge's rules and the validator that checks a model against them.

Every command uses this module: `nas validate` prints its report, the trainer refuses a model
it rejects, and the search runs it on every candidate before training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from nas.errors import NasError, RulesBroken
from nas.trace import Layer, Trace, running_stats, trace

FC_TYPES = (nn.Linear, nn.Bilinear)  # nn.LazyLinear is an nn.Linear
LAYER_TYPES = (nn.modules.conv._ConvNd, nn.Linear, nn.Bilinear)  # layers that may carry a bias
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True)
class Rules:
    """The limits a model and its training must respect. Defaults: the classic challenge."""

    max_params: int = 15_000  # total params must be strictly below this
    max_epochs: int = 20
    strict: bool = False  # also forbid the affine shift of normalization layers
    input_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10

    def check_epochs(self, epochs: int) -> None:
        """Refuse a training budget over the limit, before any training."""
        if epochs > self.max_epochs:
            raise NasError(f"--epochs {epochs} exceeds the rules' limit of {self.max_epochs}; "
                           f"use at most {self.max_epochs} (or raise --max-epochs)")
        if epochs < 1:
            raise NasError(f"--epochs {epochs} is not a number of epochs; use 1 or more")


@dataclass(frozen=True)
class Violation:
    rule: str  # "max-params", "no-bias", "no-fc" or "output-shape"
    where: str  # module path, or Class.forward for operations in the root's forward
    message: str


@dataclass
class Report:
    """Everything the validator found out about one model."""

    total_params: int
    trainable_params: int
    non_trainable_params: int
    macs: int  # multiply-accumulates per image
    receptive_field: int  # largest local receptive field before global pooling, in pixels
    violations: list[Violation]
    layers: list[Layer]
    max_params: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        return {"ok": self.ok, "total_params": self.total_params,
                "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "macs": self.macs,
                "receptive_field": self.receptive_field, "max_params": self.max_params,
                "violations": [asdict(v) for v in self.violations],
                "layers": [layer.to_dict() for layer in self.layers]}


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) parameter counts, as Keras reports them.

    Non-trainable: frozen parameters plus normalization running statistics
    (running_mean, running_var; not num_batches_tracked).
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return trainable, frozen + sum(running_stats(m) for m in model.modules())


def _structure_violations(model: nn.Module, rules: Rules) -> list[Violation]:
    """Rules read off the modules themselves, used or not."""
    found = []
    for path, module in model.named_modules():
        kind = type(module).__name__
        where = path or type(model).__name__
        if isinstance(module, FC_TYPES):
            found.append(Violation("no-fc", where, f"{kind} is a fully connected layer; use global "
                                                   "average pooling and a 1×1 convolution instead"))
        if isinstance(module, LAYER_TYPES) and getattr(module, "bias", None) is not None:
            found.append(Violation("no-bias", where, f"{kind} has a bias; create it with bias=False"))
            continue
        for name, _ in module.named_parameters(recurse=False):
            if not name.lower().endswith("bias"):
                continue
            if not isinstance(module, NORM_TYPES):
                found.append(Violation("no-bias", f"{path}.{name}" if path else name,
                                       f"parameter {name!r} is an additive bias; remove it"))
            elif rules.strict:
                found.append(Violation("no-bias", where, f"{kind} has an affine shift (forbidden by "
                                                         "--strict); create it with affine=False"))
    return found


def _operation_violations(traced: Trace, model: nn.Module, rules: Rules) -> list[Violation]:
    """Rules read off what the forward pass actually did."""
    modules = dict(model.named_modules())
    found = []
    for op in traced.ops:
        if op.kind == "dense":
            found.append(Violation("no-fc", op.where, f"{op.func} multiplies activations by a "
                                   "learned matrix: a fully connected layer; use convolutions"))
        elif op.kind == "full-conv":
            found.append(Violation("no-fc", op.where, f"{op.func} with a {op.detail} covers the "
                                   "whole map: a fully connected layer in disguise; use global "
                                   "average pooling then a 1×1 convolution"))
        elif op.kind == "add":
            if isinstance(modules.get(op.where), NORM_TYPES) and not rules.strict:
                continue
            found.append(Violation("no-bias", op.where, f"{op.func} adds a learned tensor to "
                                   "activations: an additive bias; remove it"))
    return found


def _output_violations(output, batch: int, rules: Rules) -> list[Violation]:
    expected = (batch, rules.num_classes)
    if not isinstance(output, torch.Tensor):
        return [Violation("output-shape", "output", f"forward returned {type(output).__name__}, "
                          f"not a tensor of shape {expected}")]
    if tuple(output.shape) != expected:
        return [Violation("output-shape", "output", f"output shape {tuple(output.shape)}, expected "
                          f"{expected}; end with global pooling, a 1×1 conv to "
                          f"{rules.num_classes} channels and flatten")]
    return []


def check(model: nn.Module, rules: Rules = Rules()) -> Report:
    """Check `model` against `rules` with one forward pass on a batch of two images.

    Raises NasError when the model cannot be judged (its forward raises).
    """
    was_training = model.training
    model.eval()  # no running-stat updates, no dropout: a pure look at the model
    structural = _structure_violations(model, rules)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    example = torch.randn(2, *rules.input_shape, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        with torch.no_grad():
            traced = trace(model, example)
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise NasError(f"the forward pass on a 2×{'×'.join(map(str, rules.input_shape))} batch "
                       f"raised {type(exc).__name__}: {first_line}; fix the model's forward") from exc
    finally:
        model.train(was_training)
    trainable, non_trainable = count_params(model)  # after the pass: lazy modules now have weights
    total = trainable + non_trainable

    violations: list[Violation] = []
    if total >= rules.max_params:
        violations.append(Violation("max-params", "model", f"total params {total:,} ≥ "
                                    f"{rules.max_params:,} (trainable {trainable:,} + non-trainable "
                                    f"{non_trainable:,}); make the model smaller"))
    violations += structural
    violations += _operation_violations(traced, model, rules)
    violations += _output_violations(traced.output, example.shape[0], rules)
    unique: dict[tuple[str, str], Violation] = {}  # one line per rule and place
    for v in violations:
        unique.setdefault((v.rule, v.where), v)
    return Report(total_params=total, trainable_params=trainable, non_trainable_params=non_trainable,
                  macs=traced.macs, receptive_field=traced.receptive_field, violations=list(unique.values()),
                  layers=traced.layers, max_params=rules.max_params)


def require(model: nn.Module, rules: Rules = Rules()) -> Report:
    """check(), raising RulesBroken unless every rule holds."""
    report = check(model, rules)
    if not report.ok:
        raise RulesBroken(report)
    return report
