"""The final test (`nas evaluate`): retrain on all 60,000 training images, once per seed, and test.

This module reads MNIST's test set, and so does nas.judge.final_test_file, which tests a model
file's recording on it. Nothing selects by test accuracy: each seed trains for the full epochs
without validation and is tested once at the end.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable

import optuna
from torch import nn

from nas.arch import build
from nas.data import load_all_train, load_test
from nas.errors import NasError
from nas.config import Recipe
from nas.leaderboard import complete_trial, evaluation_key
from nas.rules import Rules
from nas.train import EpochStats, build_seeded, measure, resolve_device, to_device, train

ALL_TRAIN_IMAGES = 60_000  # a full-settings evaluation trains on all of them


@dataclass
class FinalTest:
    target: str  # "trial 12" or the model file
    seeds: list[int]
    test_accs: list[float]  # one per seed
    epochs: int
    train_images: int
    total_params: int
    seconds: float
    recipe: dict

    @property
    def mean(self) -> float:
        return statistics.mean(self.test_accs)

    @property
    def std(self) -> float:
        return statistics.stdev(self.test_accs) if len(self.test_accs) > 1 else 0.0

    def summary(self) -> str:
        """E.g. "99.52% ± 0.04% (min 99.48%, max 99.55%; seeds 99.48%, 99.52%, 99.55%)"; one seed has no
        spread to show: "99.52% (1 seed)"."""
        if len(self.test_accs) == 1:
            return f"{self.mean:.2%} (1 seed)"
        seeds = ", ".join(f"{a:.2%}" for a in self.test_accs)
        return (f"{self.mean:.2%} ± {self.std:.2%} (min {min(self.test_accs):.2%}, max {max(self.test_accs):.2%}; "
                f"seeds {seeds})")

    @classmethod
    def from_dict(cls, data: dict) -> FinalTest:
        """The evaluation that to_dict() described."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})

    def to_dict(self) -> dict:
        return asdict(self) | {"mean": self.mean, "std": self.std, "min": min(self.test_accs),
                               "max": max(self.test_accs)}


def final_test_model(make_model: Callable[[], nn.Module], recipe: Recipe, seeds: int, target: str,
                   rules: Rules = Rules(), device: str = "auto", data_dir: str | None = None,
                   subset: int | None = None, on_step: Callable[[], None] | None = None,
                   tamper_check: Callable[[], None] | None = None,
                   on_epoch: Callable[[EpochStats], None] | None = None,
                   on_tested: Callable[[int, nn.Module, int], None] | None = None) -> FinalTest:
    """Train a fresh model per seed (0, 1, ...) on all training images; test accuracy of each.
    `on_step`, `tamper_check` and `on_epoch` (each seed's epochs in turn) go to nas.train.train;
    `on_tested(seed, model, test images)` is called once each seed's model is tested."""
    if seeds < 1:
        raise NasError(f"--seeds {seeds} is not a number of seeds; use 1 or more")
    rules.check_epochs(recipe.epochs)
    device = resolve_device(device)
    train_data = load_all_train(data_dir, subset)
    test_x, test_y = to_device(load_test(data_dir), device)
    start = time.perf_counter()
    accs, total = [], 0
    for seed in range(seeds):
        model = build_seeded(make_model, seed)
        result = train(model, train_data, None, replace(recipe, seed=seed), rules, device, on_step=on_step,
                       tamper_check=tamper_check, on_epoch=on_epoch)
        accs.append(measure(model, test_x, test_y)[1])
        total = result.total_params
        if on_tested is not None:
            on_tested(seed, model, len(test_y))
    return FinalTest(target=target, seeds=list(range(seeds)), test_accs=accs, epochs=recipe.epochs,
                      train_images=len(train_data), total_params=total, seconds=time.perf_counter() - start,
                      recipe=asdict(result.recipe))


def final_test_trial(study: optuna.Study, number: int, seeds: int, epochs: int | None = None,
                   rules: Rules = Rules(), device: str = "auto", data_dir: str | None = None,
                   subset: int | None = None, on_epoch: Callable[[EpochStats], None] | None = None) -> FinalTest:
    """Evaluate a search trial's architecture and recipe; add the figures and settings to its study's.

    Full settings: all 60,000 training images for the trial's own epochs; anything less (--subset,
    --epochs) is a partial evaluation, kept but never shown in place of a full one.
    """
    trial = complete_trial(study, number)
    attrs = trial.user_attrs
    recipe = Recipe(**attrs["recipe"])
    recipe = replace(recipe, epochs=epochs or recipe.epochs)
    evaluation = final_test_model(lambda: build(attrs["arch"]), recipe, seeds, f"trial {number}", rules, device,
                                data_dir, subset, on_epoch=on_epoch)
    record_final_test(study, number, evaluation)
    return evaluation


def record_final_test(study: optuna.Study, number: int, evaluation: FinalTest) -> bool:
    """Keep an evaluation of trial `number` with its settings on its study; returns whether it is full.

    Every evaluation is kept; the leaderboard prefers the full-settings ones.
    """
    trial = complete_trial(study, number)
    full = evaluation.train_images == ALL_TRAIN_IMAGES and evaluation.epochs == trial.user_attrs["recipe"]["epochs"]
    kept = study.user_attrs.get(evaluation_key(number), [])
    study.set_user_attr(evaluation_key(number), kept + [evaluation.to_dict() | {"full": full}])
    return full
