"""The leaderboard: a study's trials as ranked rows, the Pareto front, and stored final tests."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from nas.errors import NasError
from nas.render import plural


@dataclass
class Row:
    rank: int | None  # None for trials that are not ranked (failed, rejected, running)
    trial: int
    state: str  # complete, pruned, failed, rejected, running
    val_acc: float | None  # best validation accuracy reached
    total_params: int | None
    trainable_params: int | None
    epochs: int
    seconds: float | None
    arch: str
    images: int | None = None  # training images per epoch (None: a study from before fidelities were kept)
    full: bool = True  # trained at the search's full fidelity (multi-fidelity rungs below it are not)
    reason: str = ""
    test_acc: float | None = None  # mean over seeds, from `nas evaluate`
    test_acc_std: float | None = None
    test_acc_settings: str = ""  # how it was measured, e.g. "3 seeds" or "partial: 1 epoch, 5,000 images, 1 seed"
    pareto: bool = False  # no other complete trial is as accurate with fewer params, or better with as few


def _state(trial: optuna.trial.FrozenTrial) -> str:
    if trial.state == TrialState.FAIL:
        return "rejected" if trial.user_attrs.get("status") == "rejected" else "failed"
    return trial.state.name.lower()


def row(trial: optuna.trial.FrozenTrial) -> Row:
    """One trial as a leaderboard row (rank not yet set)."""
    attrs = trial.user_attrs
    history = attrs.get("val_acc_history") or []
    validated = [acc for acc in history if acc is not None]  # a cheap rung validates its last epoch only
    val_acc = trial.values[0] if trial.state == TrialState.COMPLETE else max(validated, default=None)
    return Row(rank=None, trial=trial.number, state=_state(trial), val_acc=val_acc,
               total_params=attrs.get("total_params"), trainable_params=attrs.get("trainable_params"),
               epochs=attrs.get("epochs", len(history)), seconds=attrs.get("seconds"),
               arch=attrs.get("arch_string", ""), reason=attrs.get("reason", ""), images=attrs.get("images"),
               full=attrs.get("full", True))


def rank(rows: list[Row]) -> list[Row]:
    """Fully trained complete trials first, then the lower rungs of a multi-fidelity search, then
    the rest; within each, best validation accuracy first, ties to fewer params."""
    def key(r: Row):
        return (r.state != "complete", not r.full, r.val_acc is None, -(r.val_acc or 0.0), r.total_params or 0,
                r.trial)
    ordered = sorted(rows, key=key)
    n = 0
    for r in ordered:
        if r.state in ("complete", "pruned") and r.val_acc is not None:
            n += 1
            r.rank = n
    return ordered


def check_top(top: int | None) -> None:
    if top is not None and top < 1:
        raise NasError(f"--top {top} is not a number of rows; use 1 or more")


def leaderboard(study: optuna.Study, top: int | None = None, include_all: bool = False) -> list[Row]:
    """Ranked rows of a study: complete trials, or every trial with include_all; the best `top` if given."""
    check_top(top)
    rows = rank([row(t) for t in study.get_trials(deepcopy=False)
                 if include_all or t.state == TrialState.COMPLETE])
    mark_pareto(rows)
    evaluations = study.user_attrs
    for r in rows:
        kept = evaluations.get(evaluation_key(r.trial))
        if kept:
            shown = ([e for e in kept if e["full"]] or kept)[-1]  # the latest full one; else the latest partial
            r.test_acc, r.test_acc_std = shown["mean"], shown["std"]
            r.test_acc_settings = _measured(shown)
    return rows[:top]


def pareto_front(rows: list[Row]) -> list[Row]:
    """Complete, fully trained trials that no other such trial beats on accuracy and params together
    (a lower rung's accuracy, after fewer epochs on fewer images, does not compare)."""
    done = [r for r in rows if r.state == "complete" and r.full and r.val_acc is not None
            and r.total_params is not None]

    def dominates(a: Row, b: Row) -> bool:
        return (a.val_acc >= b.val_acc and a.total_params <= b.total_params
                and (a.val_acc > b.val_acc or a.total_params < b.total_params))

    return [r for r in done if not any(dominates(o, r) for o in done)]


def mark_pareto(rows: list[Row]) -> list[Row]:
    """Set each row's `pareto` (★): whether it is on the front of these rows."""
    front = {r.trial for r in pareto_front(rows)}
    for r in rows:
        r.pareto = r.trial in front
    return rows


def _measured(evaluation: dict) -> str:
    """How a stored evaluation was measured, for the leaderboard."""
    seeds = plural(len(evaluation["seeds"]), "seed")
    if evaluation["full"]:
        return seeds
    return f"partial: {plural(evaluation['epochs'], 'epoch')}, {evaluation['train_images']:,} images, {seeds}"


def evaluation_key(number: int) -> str:
    """Where `nas evaluate` keeps a trial's evaluations (a list): a study user attribute.

    Optuna does not let a finished trial's attributes change, so they live on the study.
    """
    return f"test_acc:trial_{number}"


def complete_trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    """A complete trial of a study, or a NasError that says which trials are."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if number not in trials:
        known = ", ".join(map(str, sorted(trials)[:20])) or "none"
        raise NasError(f"trial {number} of study {study.study_name!r} is not a complete trial; complete "
                       f"trials: {known}")
    return trials[number]
