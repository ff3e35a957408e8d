"""The search: candidates from a space, checked by the validator, trained in Optuna trials.

Each candidate goes through the same `check()` as `nas validate` before any training. Rejected
candidates are recorded (state FAIL, user attr status "rejected" and the reason) and do not
count towards the number of trials, which counts trained trials. Survivors are trained with
`nas.train.train`, reporting validation accuracy after every epoch so the pruner can stop them.
Everything a trial stores is plain JSON, so optuna-dashboard can read the study.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna
import torch

from nas.arch import arch_string, build
from nas.data import load_train_val
from nas.errors import NasError
from nas.rules import Rules, check
from nas.space import load_space
from nas.storage import open_study
from nas.train import EpochStats, Recipe, TrainingDiverged, resolve_device, save_run, train

MEDIAN_WARMUP_EPOCHS = 3  # epochs before the median pruner may stop a trial: early curves cross


@dataclass
class SearchSettings:
    """What `nas search` does; the defaults are its defaults."""

    space: str = "default"
    trials: int = 50  # trained trials to add (rejected candidates do not count)
    epochs: int = 20
    subset: int | None = None
    val_subset: int | None = None
    device: str = "auto"
    data_dir: str | None = None
    storage: str = "sqlite:///results/nas.db"
    study: str = "mnist"
    seed: int = 0
    sampler: str = "tpe"  # or "random"
    pruner: str = "median"  # or "hyperband", "none"
    timeout: float | None = None  # seconds after which no new trial starts
    results_dir: str = "results"
    rules: Rules = field(default_factory=Rules)
    max_rejections_per_trial: int = 20  # stop after this × trials rejections: the space does not fit


@dataclass
class SearchOutcome:
    study: str
    trained: int  # trials trained in this run: complete, pruned or diverged
    rejected: int  # candidates rejected before training in this run
    seconds: float
    stop_reason: str  # "done", "timeout"


class Observer:
    """Hooks for a live view. Every method is optional; the defaults do nothing."""

    def started(self, settings: SearchSettings, study: optuna.Study) -> None: ...

    def trial_started(self, number: int, arch: str, total_params: int, epochs: int) -> None: ...

    def epoch_done(self, number: int, stats: EpochStats) -> None: ...

    def trial_finished(self, trial: optuna.trial.FrozenTrial) -> None: ...

    def rejected(self, number: int, reason: str) -> None: ...


def _sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    if settings.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=settings.seed)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed)
    raise NasError(f"--sampler {settings.sampler!r} is not known; use tpe or random")


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=MEDIAN_WARMUP_EPOCHS)
    if settings.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=settings.epochs)
    if settings.pruner == "none":
        return optuna.pruners.NopPruner()
    raise NasError(f"--pruner {settings.pruner!r} is not known; use median, hyperband or none")


def rejection_reason(report, min_receptive_field: int) -> str | None:
    """Why a candidate may not be trained, or None. One line, e.g. "total params 16,230 ≥ 15,000"."""
    if not report.ok:
        return "; ".join(f"{v.rule}: {v.message.split(';')[0]}" for v in report.violations)
    if report.receptive_field < min_receptive_field:
        return f"receptive field {report.receptive_field} px < {min_receptive_field} px at the head"
    return None


def run_search(settings: SearchSettings, observer: Observer | None = None) -> SearchOutcome:
    """Add `settings.trials` trained trials to the study (created, or resumed if it exists).

    Ctrl-C marks the running trial failed and re-raises; finished trials are already stored.
    """
    observer = observer or Observer()
    settings.rules.check_epochs(settings.epochs)
    if settings.trials < 1:
        raise NasError(f"--trials {settings.trials} is not a number of trials; use 1 or more")
    space = load_space(settings.space)
    device = resolve_device(settings.device)
    train_data, val_data = load_train_val(settings.data_dir, settings.subset, settings.val_subset)
    study = open_study(settings.storage, settings.study, _sampler(settings), _pruner(settings))
    observer.started(settings, study)

    start = time.monotonic()
    trained = rejected = 0
    max_rejected = settings.max_rejections_per_trial * settings.trials
    while trained < settings.trials:
        if settings.timeout is not None and time.monotonic() - start > settings.timeout:
            return SearchOutcome(settings.study, trained, rejected, time.monotonic() - start, "timeout")
        if rejected >= max_rejected:
            raise NasError(f"stopped after {rejected} rejected candidates ({settings.max_rejections_per_trial}× "
                           f"--trials) and {trained} trained: space {space.name!r} proposes models that break "
                           "the rules; fix the space or loosen --max-params")
        trial = study.ask()
        try:
            finished = _run_trial(study, trial, space, settings, device, train_data, val_data, observer)
        except BaseException as exc:  # Ctrl-C or a crash: the trial is not told yet; mark it failed, stop
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("reason", "interrupted" if isinstance(exc, KeyboardInterrupt)
                                else f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            raise
        if finished is None:
            rejected += 1
        else:
            trained += 1
            observer.trial_finished(finished)
    return SearchOutcome(settings.study, trained, rejected, time.monotonic() - start, "done")


def _run_trial(study, trial, space, settings, device, train_data, val_data,
               observer) -> optuna.trial.FrozenTrial | None:
    """Check one candidate, then train it. None when it was rejected before training.

    Every path ends with study.tell, so an exception from here means the trial is still open.
    """
    rules = settings.rules
    candidate = space.suggest(trial, rules)
    arch = candidate["arch"]
    recipe = Recipe(epochs=settings.epochs, seed=settings.seed, **candidate.get("recipe", {}))
    for key, value in {"space": space.name, "arch": arch, "arch_string": arch_string(arch),
                       "recipe": asdict(recipe), "seed": settings.seed, "device": str(device)}.items():
        trial.set_user_attr(key, value)

    torch.manual_seed(settings.seed)  # every candidate starts from the same seed
    try:
        model = build(arch)
        report = check(model, rules)
    except NasError as exc:  # e.g. a forward that raises: not a model we can judge
        report, reason = None, str(exc)
    else:
        reason = rejection_reason(report, space.min_receptive_field)
        trial.set_user_attr("total_params", report.total_params)
        trial.set_user_attr("trainable_params", report.trainable_params)
    if reason is not None:
        trial.set_user_attr("status", "rejected")
        trial.set_user_attr("reason", reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        observer.rejected(trial.number, reason)
        return None

    observer.trial_started(trial.number, arch_string(arch), report.total_params, settings.epochs)
    history: list[float] = []
    trial_start = time.monotonic()

    def on_epoch(stats: EpochStats) -> None:
        history.append(stats.val_acc)
        trial.report(stats.val_acc, stats.epoch)
        trial.set_user_attr("val_acc_history", history)
        trial.set_user_attr("epochs", len(history))
        trial.set_user_attr("seconds", round(time.monotonic() - trial_start, 3))
        observer.epoch_done(trial.number, stats)
        if trial.should_prune():
            raise optuna.TrialPruned()

    try:
        result = train(model, train_data, val_data, recipe, rules, device, on_epoch)
    except optuna.TrialPruned:
        trial.set_user_attr("status", "pruned")
        return study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except TrainingDiverged as exc:
        trial.set_user_attr("status", "failed")
        trial.set_user_attr("reason", str(exc))
        return study.tell(trial, state=optuna.trial.TrialState.FAIL)
    out = Path(settings.results_dir) / settings.study / f"trial_{trial.number}"
    save_run(out, model, result, extra={"trial": trial.number, "arch": arch})
    trial.set_user_attr("status", "complete")
    trial.set_user_attr("seconds", round(result.seconds, 3))
    trial.set_user_attr("weights", str(out / "weights.pt"))
    return study.tell(trial, result.best_val_acc)
