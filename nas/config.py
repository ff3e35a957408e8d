"""Every default and every choice nas offers, in one place, importable without torch.

The CLI takes its option defaults and choice lists from here (typer shows an enum's choices in
--help and refuses anything else), and the library's settings are these dataclasses, so a
default is written once. The rules' limits live beside the rules, in nas/rules.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum

from nas.errors import NasError
from nas.rules import Rules


class Device(str, Enum):
    AUTO = "auto"  # CUDA when there is a GPU, else the CPU
    CPU = "cpu"
    CUDA = "cuda"


class Optimizer(str, Enum):
    SGD = "sgd"  # with Nesterov momentum
    ADAM = "adam"
    ADAMW = "adamw"


class Sampler(str, Enum):
    TPE = "tpe"  # multi-objective TPE for pareto
    RANDOM = "random"
    NSGA2 = "nsga2"


class Objective(str, Enum):
    ACCURACY = "accuracy"  # best validation accuracy; ties go to fewer params
    PARETO = "pareto"  # maximize accuracy and minimize total params together


class Pruner(str, Enum):
    MEDIAN = "median"
    HYPERBAND = "hyperband"
    NONE = "none"


class Fidelity(str, Enum):
    AUTO = "auto"  # multi on the CPU, full on a GPU
    MULTI = "multi"  # successive halving over RUNGS, then full training for the best
    FULL = "full"  # every trial trains --epochs on the whole training split


class TableFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def choice(kind: type[Enum], value, what: str) -> Enum:
    """`value` as a member of `kind`, or a NasError naming the choices (a value read from a
    storage or a space is checked here too, not only what the CLI parsed)."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise NasError(f"{what} {value!r} is not known; use one of {known}") from None


STORAGE = "sqlite:///results/nas.db"  # Optuna storage URL
STUDY = "mnist"
RESULTS_DIR = "results"  # trial weights, plots and reports go under here
HEARTBEAT_SECONDS = 60  # a worker that stops beating for 2× this is declared dead, its trial retried
JUDGE_TIMEOUT_SECONDS = 60.0  # a model file must be imported and checked within this
# Multi-fidelity search: the rungs below full training, as (epochs, training images). Each rung
# trains a candidate afresh with its own complete one-cycle schedule (a short run, not the first
# epochs of a long one, which would be judged mid-warm-up), and validates once, after its last
# epoch, on the whole validation split (its earlier epochs' would only cost time: 2 s each, of a
# rung's 4 to 20 s of training). One in PROMOTE_ONE_IN[k] of rung k's candidates goes up a rung,
# counted from the top (the last share is the rung below full training's): 50 candidates give
# 25 at the second rung and 7 trained in full. benchmarks/results/fidelity-cpu.md chose the
# cuts: the first rung does not rank candidates as full training does (Spearman -0.10 over 12
# candidates; the best three in full were 6th, 16th and 18th of 20 there), so it serves to
# measure speed and to drop the worst, at most half of all (sending up every candidate fast
# enough, 47 of 50, would cost about 12 min more at the second rung, two finalists' time); the
# second rung does rank them (Spearman 0.67, the top 3 the same), so it picks the few trained in
# full. Seven: with six (1 in 4) a search took 47.2 min, best 99.49% (search-cpu.md in git
# history, AMD EPYC); validating cheap rungs once saves about 4 min, a seventh finalist's time.
# With seven and a 5-min limit per finalist: 50.3 min, best 99.38% (search-cpu.md, Intel Xeon).
RUNGS = ((2, 8_000), (4, 20_000))
PROMOTE_ONE_IN = (2, 3.5)
# On a CPU, candidates differ up to 5× in speed (depthwise and 28×28 layers are slow there), and
# the slow ones learn faster at the cheap rungs, so they win the cuts: with a limit of 12 min per
# candidate, one search drifted to them (half its 50 candidates 590-800 s, its first finalist 13
# min), and 7 finalists would have taken 90 min. A limit of 5 min kept a search to 50.3 min, but
# its best reached 99.38% (search-cpu.md, Intel Xeon), and the 99.49% search's finalists, under
# 12 min, had trained in full in 228-350 s (compiled). So time is limited twice, in units of the
# reference net's full training, eager, on the machine at hand (nas.search measures it: 2-core
# CPUs differ 2.4× in speed, 23 to 57 s per epoch): a candidate goes up a rung only if its full
# training would take at most CPU_FULL_TRAINING_REFS of those, at the speed it showed at its
# rung; and full training takes the best of the rung below in order, skipping those that no
# longer fit, until the finalists' share or CPU_FULL_STAGE_REFS is spent (counting each finished
# training by its own time). So the best can be slow, and on a CPU that trains the reference net
# at 23 s per epoch the stage takes about 30 min, the rungs below 15-20.
CPU_FULL_TRAINING_REFS = 1.25
CPU_FULL_STAGE_REFS = 4.0
DEFAULT_LR = {Optimizer.SGD: 0.2, Optimizer.ADAM: 0.01, Optimizer.ADAMW: 0.01}  # one-cycle peaks; sgd: 0.2
# beat 0.1, 0.15 and 0.4 in short CPU runs of the reference net


@dataclass
class Recipe:
    """How to train: SGD with Nesterov momentum and a one-cycle learning rate by default (see
    benchmarks/results/train-cpu.md for what these defaults reach with the 14,770-param net).
    Every field can be set by a search space, and each trial records its recipe."""

    epochs: int = 20  # the rules' limit
    batch_size: int = 128
    optimizer: Optimizer = Optimizer.SGD
    lr: float | None = None  # peak of the one-cycle schedule; None: DEFAULT_LR[optimizer]
    momentum: float = 0.9  # SGD's (Nesterov); constant, so the step can be a captured CUDA graph
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1  # soft targets: a little regularization for small nets
    warmup: float = 0.25  # share of the steps over which the rate rises to its peak (OneCycleLR's)
    initial_div: float = 25.0  # the rate starts at peak / this (OneCycleLR's div_factor)
    final_div: float = 1e4  # and ends at its start / this (OneCycleLR's final_div_factor)
    augment: float = 1.0  # strength scaling both ranges below; 0 is off
    max_rotation: float = 10.0  # degrees, at strength 1: MNIST digits are written a little slanted
    max_shift: float = 0.1  # of the image width, at strength 1: digits are centred, not exactly
    dropout: float | None = None  # sets p of the model's dropout layers; None keeps theirs
    seed: int = 0

    def __post_init__(self):
        # a recipe may come from a space or a storage: every number must be one
        self.optimizer = choice(Optimizer, self.optimizer, "--optimizer")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "optimizer" or (value is None and "None" in f.type):
                continue
            whole = f.type == "int"
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                    or not math.isfinite(value):
                raise NasError(f"recipe {f.name}={value!r} is not {'a whole number' if whole else 'a finite number'}")
        if self.lr is not None and not self.lr > 0:
            raise NasError(f"--lr {self.lr} must be positive")

    @property
    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]


@dataclass
class SearchSettings:
    """What `nas search` does; the defaults are its defaults."""

    space: str = "default"
    trials: int = 50  # trained trials to add (rejected candidates do not count)
    epochs: int = 20
    subset: int | None = None
    val_subset: int | None = None
    device: Device = Device.AUTO
    data_dir: str | None = None
    storage: str = STORAGE
    study: str = STUDY
    seed: int = 0
    sampler: Sampler = Sampler.TPE
    objective: Objective = Objective.ACCURACY
    pruner: Pruner = Pruner.MEDIAN  # within a trial, at full fidelity (rungs judge multi-fidelity candidates)
    fidelity: Fidelity = Fidelity.AUTO
    timeout: float | None = None  # seconds after which no new trial starts
    workers: int | None = None  # trials at once, in separate processes; None: one per device (see search)
    heartbeat: int = HEARTBEAT_SECONDS  # seconds between a running trial's heartbeats
    results_dir: str = RESULTS_DIR
    rules: Rules = field(default_factory=Rules)
    max_rejections_per_trial: int = 20  # stop after this × trials rejections: the space does not fit

    def __post_init__(self):
        self.device = choice(Device, self.device, "--device")
        self.sampler = choice(Sampler, self.sampler, "--sampler")
        self.objective = choice(Objective, self.objective, "--objective")
        self.pruner = choice(Pruner, self.pruner, "--pruner")
        self.fidelity = choice(Fidelity, self.fidelity, "--fidelity")
