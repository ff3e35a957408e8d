"""Train a model under the rules, with MNIST resident on the device.

The search runs every trial through `train()`, so it is built for speed and honesty:
- the data lives on the device as one tensor; batches are taken by index;
- augmentation (random rotation and translation) runs on the device, once per epoch on the
  whole shuffled training set: each image gets its own random transform every epoch;
- loss and accuracy accumulate on the device: one host sync per epoch, not per step;
- bf16 autocast on CUDA, and on CPUs with bf16 arithmetic (AVX512-BF16 or AMX: 2× float32 on
  2 Zen 4 cores); float32 on other CPUs, which only emulate bf16 (5.5× slower);
- on CUDA, channels_last, and the whole train step (batch gather, forward, backward, optimizer,
  learning rate, metrics) captured once as a CUDA graph and replayed; on the CPU the same step
  called directly. Otherwise one code path.
"""

from __future__ import annotations

import errno
import functools
import io
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nas.config import Device, Optimizer, Recipe, choice
from nas.data import MEAN, STD, Split
from nas.errors import NasError, RulesBroken
from nas.rules import Rules
from nas.validator import check, count_params, require

# On the CPU, forward and backward compiled with torch.compile ran about 1.45× the eager speed
# in float32, and 0.8-1.1× under bf16 autocast (3 runs of bench_train.py), its cold compile of
# 10-30 s amortized over 20 epochs (benchmarks/results/train-cpu.md; seconds from inductor's
# cache): used for long runs.
COMPILE_MIN_IMAGES = 400_000  # images trained in all (epochs × images), at and above which the CPU compiles
# No gradients at evaluation: on a GPU, big batches mean few launches; on the CPU, 500 keeps
# activations in cache (measured: 10,000 images in 2.4 s at 500, 4.0 s at 2,000, 2 cores).
EVAL_BATCH = {"cuda": 10_000, "cpu": 500}


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
    cuda_graph: bool = False  # whether the train step ran as a captured CUDA graph
    compiled: bool = False  # whether forward and backward ran under torch.compile
    precision: str = "float32"  # "bf16" where forward and backward ran under bf16 autocast

    @property
    def val_acc(self) -> float | None:
        return self.history[-1].val_acc

    @property
    def best_val_acc(self) -> float | None:
        return max((e.val_acc for e in self.history if e.val_acc is not None), default=None)

    @classmethod
    def from_dict(cls, data: dict) -> TrainResult:
        """The result that to_dict() described."""
        return cls(history=[EpochStats(**e) for e in data["history"]], total_params=data["total_params"],
                   device=data["device"], seconds=data["seconds"], recipe=Recipe(**data["recipe"]),
                   cuda_graph=data["cuda_graph"], compiled=data["compiled"], precision=data["precision"])

    def to_dict(self) -> dict:
        last = self.history[-1]
        return {"val_acc": last.val_acc, "best_val_acc": self.best_val_acc, "val_loss": last.val_loss,
                "train_acc": last.train_acc, "epochs": len(self.history), "seconds": self.seconds,
                "total_params": self.total_params, "device": self.device,
                "recipe": asdict(self.recipe), "cuda_graph": self.cuda_graph, "compiled": self.compiled,
                "precision": self.precision, "history": [asdict(e) for e in self.history]}


class TrainingDiverged(NasError):
    """The loss became NaN or infinite, or rose far above a uniform guess's (DIVERGED_LOSS)."""


# Cross-entropy of a uniform guess over the 10 classes is ln(10) ≈ 2.3 (label smoothing leaves
# that unchanged), and a fresh net starts near it. An epoch's mean train loss at 4× that means
# the net gives the right digit about 1/10,000 of the probability on average: it is not
# learning but blowing up (--lr 1000 reaches 1e16 without ever becoming NaN).
DIVERGED_LOSS = 4 * math.log(10)


def seed(value: int) -> None:
    """Seed everything a run draws from: the default generators on every device, the only ones
    a CUDA graph replays. Every seeding in nas goes through here."""
    torch.manual_seed(value)


def build_seeded(make_model: Callable[[], nn.Module], seed_value: int) -> nn.Module:
    """The model `make_model` builds, its weights initialized from `seed_value`."""
    seed(seed_value)
    return make_model()


def resolve_device(name: str | Device = Device.AUTO) -> torch.device:
    """Device.AUTO picks CUDA when there is a GPU, else the CPU."""
    name = choice(Device, name, "--device")
    if name == Device.AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == Device.CUDA and not torch.cuda.is_available():
        raise NasError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu")
    return torch.device(name.value)


def to_device(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as N×1×28×28 float in [0, 1], and labels, on the device."""
    images = split.images.to(device, non_blocking=True).unsqueeze(1).float().div_(255)
    return images, split.labels.to(device, non_blocking=True)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - MEAN) / STD


def augment(x: torch.Tensor, recipe: Recipe = Recipe()) -> torch.Tensor:
    """Random rotation (±max_rotation°) and translation (±max_shift of the width), both scaled by
    the recipe's augment strength, of a whole batch at once."""
    b = x.shape[0]
    angle = (torch.rand(b, device=x.device) * 2 - 1) * math.radians(recipe.max_rotation) * recipe.augment
    # affine_grid works in [-1, 1] coordinates: a shift of 10% of the width is 0.2
    shift = (torch.rand(b, 2, device=x.device) * 2 - 1) * 2 * recipe.max_shift * recipe.augment
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)  # zero padding: the digit's background


def precision(device: torch.device) -> str:
    """"bf16" where `device` computes in bf16 natively (the trainer autocasts there), else "float32"."""
    return "bf16" if device.type == "cuda" or (device.type == "cpu" and _cpu_has_bf16()) else "float32"


@functools.cache
def _cpu_has_bf16() -> bool:
    # private probes, absent from some builds: then float32
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported",
                                                                       "_is_amx_tile_supported"))


def _autocast(device: torch.device):
    # No cast cache: a captured graph must recast the weights it updates on every replay
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision(device) == "bf16",
                          cache_enabled=False)


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(mean loss, accuracy) of `model` on device-resident images in [0, 1], in float32: the
    figures are those of the weights as exported and used, not of the trainer's bf16 autocast
    (near a decision boundary the two can differ by an image). On CUDA without TF32, which cuDNN
    uses for float32 convolutions by default: nas checks a CUDA-trained model's figure against
    its own, measured on the CPU, to within judge.TOLD_IMAGES."""
    model.eval()
    device = images.device
    batch_size = EVAL_BATCH.get(device.type, EVAL_BATCH["cpu"])
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                     allow_tf32=False):
        for start in range(0, len(labels), batch_size):
            x = normalize(images[start:start + batch_size])
            y = labels[start:start + batch_size]
            logits = model(x.contiguous(memory_format=_memory_format(device)))
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
    loss, right = torch.stack([loss_sum, correct.float()]).tolist()  # one host sync
    return loss / len(labels), right / len(labels)


def _memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def one_cycle(peak_lr: float, total_steps: int, warmup: float = 0.25, initial_div: float = 25.0,
              final_div: float = 1e4) -> torch.Tensor:
    """The learning rate of every step: a cosine rise from peak/initial_div to the peak over the
    first `warmup` of the steps, then a cosine fall to that start/final_div (OneCycleLR's
    schedule and defaults).

    A table rather than a scheduler, so that a captured CUDA graph can read each step's rate
    from the device."""
    initial = peak_lr / initial_div
    final = initial / final_div
    rise_end = max(warmup * total_steps - 1, 1.0)  # at least one step: a 4-step run must not divide by 0
    fall_steps = max(total_steps - 1 - rise_end, 1.0)
    t = torch.arange(total_steps, dtype=torch.float64)

    def cosine(start: float, end: float, progress: torch.Tensor) -> torch.Tensor:
        return end + (start - end) / 2 * (1 + torch.cos(math.pi * progress))

    rates = torch.where(t <= rise_end, cosine(initial, peak_lr, t / rise_end),
                        cosine(peak_lr, final, (t - rise_end) / fall_steps))
    return rates.float()


def _optimizer(model: nn.Module, recipe: Recipe, lr: torch.Tensor) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    on_cuda = lr.device.type == "cuda"
    # On CUDA one fused kernel updates every parameter: a few launches per step instead of dozens.
    # The rate is a device tensor that the step itself sets, so the step can be graph-captured.
    options = {"lr": lr, "weight_decay": recipe.weight_decay, "fused": on_cuda}
    if recipe.optimizer == Optimizer.SGD:
        return torch.optim.SGD(params, momentum=recipe.momentum, nesterov=True, **options)
    optimizer_class = torch.optim.Adam if recipe.optimizer == Optimizer.ADAM else torch.optim.AdamW
    return optimizer_class(params, capturable=on_cuda, **options)


class _LogitsAndLoss:
    """A training batch's logits and loss, under torch.compile when asked (forward, loss and
    their backward as one compiled graph: 1.45× eager on 2 CPU cores, against 1.2× for the model
    alone). Compilation happens at the first call; if it fails there, this and every later call
    run eagerly."""

    def __init__(self, model: nn.Module, label_smoothing: float, compile: bool):
        def logits_and_loss(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = model(x).float()
            return logits, F.cross_entropy(logits, y, label_smoothing=label_smoothing)

        self.eager = logits_and_loss
        self.compiled = None
        if compile:
            # Dynamo caches by this function's code, which every model of a process shares: after
            # 8 models (its recompile_limit) it ran the 9th eagerly without a word (bench_fidelity,
            # 12 full trainings in one process). A fresh start per model also lets go of the last
            # one; inductor's cache on disk still serves an architecture compiled before.
            torch.compiler.reset()
            self.compiled = torch.compile(logits_and_loss)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.compiled is None:
            return self.eager(x, y)
        try:
            return self.compiled(x, y)
        except Exception as error:  # torch._dynamo and inductor raise many kinds
            detail = str(error).splitlines()[0] if str(error) else ""
            warnings.warn(f"this model could not be compiled ({type(error).__name__}: {detail}); "
                          "training it eagerly, more slowly")
            self.compiled = None
            return self.eager(x, y)


class _StepRunner:
    """Runs the train step. On the CPU, or with graphs off, it calls the step. On CUDA it calls
    it for a few warm-up steps on a side stream (as CUDA graph capture needs), then captures it
    once and replays the graph: one launch per step instead of hundreds, where launches and
    Python, not arithmetic, bound a net this small. A model whose forward cannot be captured
    (a host sync, say) falls back to calling the step, with a warning."""

    WARMUP_STEPS = 3

    def __init__(self, step: Callable[[], None], optimizer: torch.optim.Optimizer, capture: bool):
        self.step, self.optimizer = step, optimizer
        self.side_stream = torch.cuda.Stream() if capture else None
        self.warmed_up = 0
        self.graph: torch.cuda.CUDAGraph | None = None

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        elif self.side_stream is None:
            self.optimizer.zero_grad(set_to_none=True)
            self.step()
        elif self.warmed_up < self.WARMUP_STEPS:
            self.side_stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side_stream):
                self.optimizer.zero_grad(set_to_none=True)
                self.step()
            torch.cuda.current_stream().wait_stream(self.side_stream)
            self.warmed_up += 1
        else:
            self._capture()
            self()

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        # Gradients are allocated inside the graph: each replay's backward writes them afresh
        self.optimizer.zero_grad(set_to_none=True)
        try:
            with torch.cuda.graph(graph):
                self.step()  # recorded, not run: replay runs it
        except RuntimeError as error:
            torch.cuda.synchronize()
            warnings.warn(f"this model's train step could not be captured as a CUDA graph "
                          f"({str(error).splitlines()[0]}); training it without one, more slowly")
            self.side_stream = None
            return
        self.graph = graph


def train(model: nn.Module, train_data: Split, val_data: Split | None, recipe: Recipe = Recipe(),
          rules: Rules = Rules(), device: str | torch.device = "auto",
          on_epoch: Callable[[EpochStats], None] | None = None, cuda_graph: bool = True,
          compile: bool | None = None, val_epochs: int | None = None,
          on_step: Callable[[], None] | None = None, tamper_check: Callable[[], None] | None = None) -> TrainResult:
    """Train `model` in place under `rules`, validating after every epoch (unless val_data is None),
    or after only the last `val_epochs` epochs (the others' val_acc is None).

    Refuses over-limit epochs (NasError) and a model that breaks the rules (RulesBroken) before
    any training. `on_epoch` is called with each epoch's stats; it may raise to stop the run
    (the search prunes that way); `on_step` after each step (a watchdog's heartbeat). For a model
    file's code, `tamper_check` (nas.judge's, which raises) runs whenever nas takes over from the
    model's code (before and after each check and each validation), and the trained model is
    checked again (it may compute something else after its 100th call; nas's own architectures
    cannot, and skip the seconds it takes). Raises TrainingDiverged when an epoch's training loss
    is NaN, infinite or above DIVERGED_LOSS. On CUDA the train step runs as one captured CUDA graph
    unless `cuda_graph` is False. `compile`: forward and backward under torch.compile; None (the
    default) compiles on the CPU when the run trains COMPILE_MIN_IMAGES or more. A model that
    does not compile trains eagerly, with a warning.
    """
    start = time.perf_counter()
    recipe = replace(recipe, lr=recipe.peak_lr)  # record the learning rate actually used
    rules.check_epochs(recipe.epochs)
    device = resolve_device(device) if isinstance(device, str) else device
    n, batch = len(train_data), recipe.batch_size
    if batch < 1 or n < batch:
        raise NasError(f"--batch-size {batch} needs at least that many training images "
                       f"(have {n:,}); lower it or raise --subset")
    steps = n // batch  # whole batches only: every step has the same shape

    if recipe.dropout is not None:
        for module in model.modules():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                module.p = recipe.dropout
    memory_format = _memory_format(device)
    model.to(device, memory_format=memory_format)  # before the check: what is checked is what trains
    # the batch sizes this run uses: a model that branches on one of them is checked on that branch
    batches = (3, batch, EVAL_BATCH.get(device.type, EVAL_BATCH["cpu"]))
    guard = tamper_check or (lambda: None)
    guard()
    report = require(model, rules, batch_sizes=batches, context=lambda: _autocast(device))
    guard()
    if report.trainable_params == 0:
        raise NasError("the model has no trainable parameters, so there is nothing to train; give it some")
    held = sum(count_params(model))
    seed(recipe.seed)  # the batch order, augmentation and dropout: after the check, which draws its own
    train_x, train_y = to_device(train_data, device)
    val = to_device(val_data, device) if val_data is not None else None

    # Everything the step reads or writes lives in a fixed device tensor, updated by the step
    # itself: the step counter, the learning rate, this epoch's images, the epoch's sums.
    rates = one_cycle(recipe.peak_lr, steps * recipe.epochs, recipe.warmup, recipe.initial_div,
                      recipe.final_div).to(device)
    step_number = torch.zeros(1, dtype=torch.long, device=device)
    lr = rates[:1].clone()
    optimizer = _optimizer(model, recipe, lr)
    epoch_x = torch.empty_like(train_x, memory_format=memory_format)
    epoch_y = torch.empty_like(train_y)
    offsets = torch.arange(batch, device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)

    if compile is None:
        compile = device.type == "cpu" and steps * batch * recipe.epochs >= COMPILE_MIN_IMAGES
    logits_and_loss = _LogitsAndLoss(model, recipe.label_smoothing, compile)

    def train_step() -> None:
        rows = step_number % steps * batch + offsets  # this step's batch of the epoch's images
        x = epoch_x.index_select(0, rows).contiguous(memory_format=memory_format)
        y = epoch_y.index_select(0, rows)
        with _autocast(device):
            logits, loss = logits_and_loss(x, y)
        loss.backward()
        lr.copy_(rates.index_select(0, step_number))
        optimizer.step()
        step_number.add_(1)
        loss_sum.add_(loss.detach())
        correct.add_((logits.argmax(1) == y).sum())

    run_step = _StepRunner(train_step, optimizer, capture=cuda_graph and device.type == "cuda"
                           and steps > _StepRunner.WARMUP_STEPS)
    history: list[EpochStats] = []
    for epoch in range(1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        # The epoch's images shuffled, augmented and normalized in one pass: a few large
        # kernels per epoch rather than a dozen small ones in every step
        order = torch.randperm(n, device=device)
        images = train_x[order]
        epoch_x.copy_(normalize(augment(images, recipe) if recipe.augment > 0 else images))
        epoch_y.copy_(train_y[order])
        for _ in range(steps):
            run_step()
            if on_step is not None:
                on_step()
        loss_total, right = torch.stack([loss_sum, correct.float()]).tolist()  # the epoch's one host sync
        loss_sum.zero_()
        correct.zero_()
        train_loss = loss_total / steps
        train_seconds = time.perf_counter() - epoch_start
        if not train_loss <= DIVERGED_LOSS:  # NaN fails every comparison
            raise TrainingDiverged(f"training diverged: the mean training loss was {train_loss:.3g} in epoch "
                                   f"{epoch} (a uniform guess scores {math.log(10):.2f}); lower the learning "
                                   f"rate (now {recipe.peak_lr:g})")
        validate = val is not None and (val_epochs is None or epoch > recipe.epochs - val_epochs)
        guard()
        val_loss, val_acc = measure(model, *val) if validate else (None, None)
        guard()
        stats = EpochStats(epoch=epoch, train_loss=train_loss, train_acc=right / (steps * batch),
                           val_loss=val_loss, val_acc=val_acc, train_seconds=train_seconds,
                           seconds=time.perf_counter() - epoch_start)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    trained = sum(count_params(model))
    if trained != held:  # e.g. weights that appear after a number of calls
        raise NasError(f"the model's state changed from {held:,} to {trained:,} values while it "
                       f"trained, so the {report.total_params:,} params checked are not what was trained; "
                       "a model must create all its weights in its constructor")
    if tamper_check is not None:
        guard()
        trained_report = check(model, rules, batch_sizes=batches, context=lambda: _autocast(device))
        guard()
        if not trained_report.ok:
            raise RulesBroken(trained_report, after_training=True)
    return TrainResult(history=history, total_params=report.total_params, device=str(device),
                       seconds=time.perf_counter() - start, recipe=recipe, cuda_graph=run_step.captured,
                       compiled=logits_and_loss.compiled is not None,
                       precision=precision(device))


def save_run(out_dir: str | Path, model: nn.Module | None, result: TrainResult,
             model_file: str | Path | None = None, extra: dict | None = None, weights: bytes | None = None) -> Path:
    """Write metrics.json, weights.pt (the model's state_dict, or `weights`, the bytes of one
    written before) and a copy of the model file to `out_dir`.

    Each file is written to a temporary name and renamed, so a crash never leaves half a file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = result.to_dict() | (extra or {})
    if model_file is not None:
        metrics["model_file"] = Path(model_file).name
        atomic_write(out / Path(model_file).name, Path(model_file).read_bytes())
    atomic_write(out / "weights.pt", weights if weights is not None else state_bytes(model))
    atomic_write(out / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    return out


def state_bytes(model: nn.Module) -> bytes:
    """The model's state_dict on the CPU, as torch.save writes it."""
    state = {k: v.detach().to("cpu", memory_format=torch.contiguous_format)
             for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` by a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, say: leave no half-written temporary file behind
        tmp.unlink(missing_ok=True)
        raise NasError(f"cannot write {path} ({exc.strerror}); free some space or make the folder "
                       "writable, and run again") from None


def writable_dir(path: str | Path, option: str) -> None:
    """Fail now, not after training, when files could not be written in the folder `path`.

    A temporary file is written and removed there, or in its nearest existing parent when the
    folder is yet to be made: nothing is left or created.
    """
    path = Path(path)
    existing = next(p for p in (path, *path.parents) if p.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise NasError(f"cannot write to {path} ({exc.strerror}); pass a writable {option}") from None
