"""Train a model under the rules, with MNIST resident on the device.

The search runs every trial through `train()`, so it is built for speed and honesty:
- the data lives on the device as one tensor; batches are taken by index;
- augmentation (random rotation and translation) runs on whole batches on the device;
- loss and accuracy accumulate on the device: one host sync per epoch, not per step;
- on CUDA, bf16 autocast and channels_last; on the CPU, float32 (bf16 autocast measured 5.5×
  slower there). Otherwise one code path.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nas.data import MEAN, STD, Split
from nas.errors import NasError
from nas.rules import Rules, require

OPTIMIZERS = ("sgd", "adam", "adamw")
DEFAULT_LR = {"sgd": 0.2, "adam": 0.01, "adamw": 0.01}  # one-cycle peaks; sgd: 0.2 beat 0.1, 0.15, 0.4 in short CPU runs
# No gradients at evaluation: on a GPU, big batches mean few launches; on the CPU, 500 keeps
# activations in cache (measured: 10,000 images in 2.4 s at 500, 4.0 s at 2,000, 2 cores).
EVAL_BATCH = {"cuda": 10_000, "cpu": 500}


@dataclass
class Recipe:
    """How to train. Default: SGD with Nesterov momentum and a one-cycle schedule (the anchor's
    recipe family; on the CPU these defaults gave the 14,770-param reference net 99.47% test
    accuracy in 20 epochs, benchmarks/results/train-cpu.md)."""

    epochs: int = 20  # the rules' limit
    batch_size: int = 128
    optimizer: str = "sgd"  # SGD with Nesterov momentum 0.9; or "adam", "adamw"
    lr: float | None = None  # peak of the one-cycle schedule; None: DEFAULT_LR[optimizer]
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1  # soft targets: a little regularization for small nets
    augment: float = 1.0  # strength: 1.0 is ±10° rotation and ±10% translation; 0 is off
    dropout: float | None = None  # sets p of the model's dropout layers; None keeps theirs
    seed: int = 0

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise NasError(f"--optimizer {self.optimizer!r} is not known; use one of {', '.join(OPTIMIZERS)}")
        if self.lr is not None and not self.lr > 0:
            raise NasError(f"--lr {self.lr} must be positive")

    @property
    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None  # None when training without a validation set
    val_acc: float | None
    train_seconds: float  # the training steps alone
    seconds: float  # training plus validation


@dataclass
class TrainResult:
    history: list[EpochStats]
    total_params: int
    device: str
    seconds: float  # the whole call, moving the data to the device included
    recipe: Recipe = field(default_factory=Recipe)

    @property
    def val_acc(self) -> float | None:
        return self.history[-1].val_acc

    @property
    def best_val_acc(self) -> float | None:
        return max((e.val_acc for e in self.history if e.val_acc is not None), default=None)

    def to_dict(self) -> dict:
        last = self.history[-1]
        return {"val_acc": last.val_acc, "best_val_acc": self.best_val_acc, "val_loss": last.val_loss,
                "train_acc": last.train_acc, "epochs": len(self.history), "seconds": self.seconds,
                "total_params": self.total_params, "device": self.device,
                "recipe": asdict(self.recipe), "history": [asdict(e) for e in self.history]}


class TrainingDiverged(NasError):
    """The loss became NaN or infinite."""


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA when there is a GPU, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise NasError(f"--device {name!r} is not known; use auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise NasError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def to_device(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as N×1×28×28 float in [0, 1], and labels, on the device."""
    images = split.images.to(device, non_blocking=True).unsqueeze(1).float().div_(255)
    return images, split.labels.to(device, non_blocking=True)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - MEAN) / STD


def augment(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Random rotation (±10°·strength) and translation (±10%·strength) of a whole batch at once."""
    b = x.shape[0]
    angle = (torch.rand(b, device=x.device, generator=generator) * 2 - 1) * math.radians(10) * strength
    # affine_grid works in [-1, 1] coordinates: 10% of the width is 0.2
    shift = (torch.rand(b, 2, device=x.device, generator=generator) * 2 - 1) * 0.2 * strength
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)  # zero padding: the digit's background


def _autocast(device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(mean loss, accuracy) of `model` on device-resident images in [0, 1]."""
    model.eval()
    device = images.device
    batch_size = EVAL_BATCH.get(device.type, EVAL_BATCH["cpu"])
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(labels), batch_size):
        x = normalize(images[start:start + batch_size])
        y = labels[start:start + batch_size]
        with _autocast(device):
            logits = model(x.contiguous(memory_format=_memory_format(device))).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    loss, right = torch.stack([loss_sum, correct.float()]).tolist()  # one host sync
    return loss / len(labels), right / len(labels)


def _memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def _optimizer(model: nn.Module, recipe: Recipe, device: torch.device) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    # On CUDA one fused kernel updates every parameter: a few launches per step instead of dozens
    options = {"lr": recipe.peak_lr, "weight_decay": recipe.weight_decay, "fused": device.type == "cuda"}
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, momentum=0.9, nesterov=True, **options)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, **options)
    return torch.optim.AdamW(params, **options)


def train(model: nn.Module, train_data: Split, val_data: Split | None, recipe: Recipe = Recipe(),
          rules: Rules = Rules(), device: str | torch.device = "auto",
          on_epoch: Callable[[EpochStats], None] | None = None) -> TrainResult:
    """Train `model` in place under `rules`, validating after every epoch (unless val_data is None).

    Refuses over-limit epochs (NasError) and a model that breaks the rules (RulesBroken) before
    any training. `on_epoch` is called with each epoch's stats; it may raise to stop the run
    (the search prunes that way). Raises TrainingDiverged on a NaN or infinite loss.
    """
    start = time.perf_counter()
    recipe = replace(recipe, lr=recipe.peak_lr)  # record the learning rate actually used
    rules.check_epochs(recipe.epochs)
    report = require(model, rules)
    device = resolve_device(device) if isinstance(device, str) else device
    n, batch = len(train_data), recipe.batch_size
    if batch < 1 or n < batch:
        raise NasError(f"--batch-size {batch} needs at least that many training images "
                       f"(have {n:,}); lower it or raise --subset")
    steps = n // batch  # whole batches only: every step has the same shape

    torch.manual_seed(recipe.seed)
    generator = torch.Generator(device=device).manual_seed(recipe.seed)
    if recipe.dropout is not None:
        for module in model.modules():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                module.p = recipe.dropout
    model.to(device, memory_format=_memory_format(device))
    train_x, train_y = to_device(train_data, device)
    val = to_device(val_data, device) if val_data is not None else None
    optimizer = _optimizer(model, recipe, device)
    total_steps = steps * recipe.epochs
    # OneCycleLR divides by zero when its warm-up ends on step 0 (0.25 × 4 steps): warm up longer then
    warmup = 0.25 if total_steps * 0.25 != 1 else 0.3
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.peak_lr, total_steps=total_steps,
                                                   pct_start=warmup)

    history: list[EpochStats] = []
    for epoch in range(1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n, device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            x = train_x[idx]
            if recipe.augment > 0:
                x = augment(x, recipe.augment, generator)
            x = normalize(x).contiguous(memory_format=_memory_format(device))
            y = train_y[idx]
            with _autocast(device):
                logits = model(x).float()
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach()
            correct += (logits.argmax(1) == y).sum()
        loss_total, right = torch.stack([loss_sum, correct.float()]).tolist()  # the epoch's one host sync
        train_loss = loss_total / steps
        train_seconds = time.perf_counter() - epoch_start
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the training loss became {train_loss} in epoch {epoch}; "
                                   f"lower the learning rate (now {recipe.peak_lr:g})")
        val_loss, val_acc = evaluate(model, *val) if val is not None else (None, None)
        stats = EpochStats(epoch=epoch, train_loss=train_loss, train_acc=right / (steps * batch),
                           val_loss=val_loss, val_acc=val_acc, train_seconds=train_seconds,
                           seconds=time.perf_counter() - epoch_start)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    return TrainResult(history=history, total_params=report.total_params, device=str(device),
                       seconds=time.perf_counter() - start, recipe=recipe)


def save_run(out_dir: str | Path, model: nn.Module, result: TrainResult,
             model_file: str | Path | None = None, extra: dict | None = None) -> Path:
    """Write metrics.json, weights.pt (a state_dict) and a copy of the model file to `out_dir`.

    Each file is written to a temporary name and renamed, so a crash never leaves half a file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = result.to_dict() | (extra or {})
    if model_file is not None:
        metrics["model_file"] = Path(model_file).name
        _atomic_write(out / Path(model_file).name, Path(model_file).read_bytes())
    state = {k: v.detach().to("cpu", memory_format=torch.contiguous_format)
             for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _atomic_write(out / "weights.pt", buffer.getvalue())
    _atomic_write(out / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
