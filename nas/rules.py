"""The challenge's rules, and the report that says whether a model keeps them.

Torch-free on purpose: the model is judged in a process of its own (nas/judge.py) by
nas/validator.py, and its report comes back as plain data, while the `nas validate` process
imports torch to check the recording it also gets back (nas/graph.py), in a thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from nas.errors import NasError

# Rule names, as reports and tests spell them
MAX_PARAMS, NO_BIAS, NO_FC, OUTPUT_SHAPE, CONSISTENT = "max-params", "no-bias", "no-fc", "output-shape", "consistent"
CHECK_BATCHES = (3, 128)  # the batch sizes a model is checked at: a small odd batch, and the trainer's default


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
    rule: str  # MAX_PARAMS, NO_BIAS, NO_FC, OUTPUT_SHAPE or CONSISTENT
    where: str  # module path, or Class.forward for operations in the root's forward
    message: str


@dataclass
class Layer:
    """One row of the layer table: a module call, or a module that never ran."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None  # per image (batch dimension dropped); None if not called
    params: int  # values of the state tensors the module holds itself
    macs: int  # multiply-accumulates per image
    receptive_field: int | str | None  # pixels, "global", or None when unknown

    def to_dict(self) -> dict:
        return asdict(self) | {"output_shape": None if self.output_shape is None else list(self.output_shape)}


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
    model: str = ""  # the model's class name

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        return {"ok": self.ok, **{f.name: getattr(self, f.name) for f in fields(self)
                                  if f.name not in ("violations", "layers")},
                "violations": [asdict(v) for v in self.violations],
                "layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        """The report a judging process sent back (to_dict's output)."""
        layers = [Layer(**(row | {"output_shape": None if row["output_shape"] is None else tuple(row["output_shape"])}))
                  for row in data["layers"]]
        plain = {f.name: data[f.name] for f in fields(cls) if f.name not in ("violations", "layers")}
        return cls(**plain, violations=[Violation(**v) for v in data["violations"]], layers=layers)


def params_violation(total: int, trainable: int, rules: Rules) -> Violation | None:
    """The parameter limit: total (trainable + non-trainable) must stay below rules.max_params."""
    if total < rules.max_params:
        return None
    return Violation(MAX_PARAMS, "model", f"total params {total:,} ≥ {rules.max_params:,} (trainable "
                     f"{trainable:,} + non-trainable {total - trainable:,}); make the model smaller")
