"""What a study found: leaderboard rows, ranked, in JSON, CSV or markdown."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass

import optuna
from optuna.trial import TrialState

from nas.storage import load_study

COLUMNS = ("rank", "trial", "val_acc", "total_params", "trainable_params", "epochs", "seconds", "arch", "state")


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
    reason: str = ""


def _state(trial: optuna.trial.FrozenTrial) -> str:
    if trial.state == TrialState.FAIL:
        return "rejected" if trial.user_attrs.get("status") == "rejected" else "failed"
    return trial.state.name.lower()


def row(trial: optuna.trial.FrozenTrial) -> Row:
    """One trial as a leaderboard row (rank not yet set)."""
    attrs = trial.user_attrs
    history = attrs.get("val_acc_history") or []
    val_acc = trial.value if trial.state == TrialState.COMPLETE else (max(history) if history else None)
    return Row(rank=None, trial=trial.number, state=_state(trial), val_acc=val_acc,
               total_params=attrs.get("total_params"), trainable_params=attrs.get("trainable_params"),
               epochs=attrs.get("epochs", len(history)), seconds=attrs.get("seconds"),
               arch=attrs.get("arch_string", ""), reason=attrs.get("reason", ""))


def rank(rows: list[Row]) -> list[Row]:
    """Best validation accuracy first; ties go to fewer params. Complete trials rank before the rest."""
    def key(r: Row):
        return (r.state != "complete", r.val_acc is None, -(r.val_acc or 0.0), r.total_params or 0, r.trial)
    ordered = sorted(rows, key=key)
    n = 0
    for r in ordered:
        if r.state in ("complete", "pruned") and r.val_acc is not None:
            n += 1
            r.rank = n
    return ordered


def leaderboard(storage: str, study: str, top: int | None = None, include_all: bool = False) -> list[Row]:
    """Ranked rows of a study: complete trials, or every trial with include_all."""
    trials = load_study(storage, study).get_trials(deepcopy=False)
    rows = rank([row(t) for t in trials if include_all or t.state == TrialState.COMPLETE])
    return rows[:top] if top else rows


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows])


def to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(asdict(rows[0])) if rows else list(COLUMNS))
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return out.getvalue()


def to_markdown(rows: list[Row]) -> str:
    lines = ["| rank | trial | val acc | params | epochs | seconds | architecture | state |",
             "|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.rank or ''} | {r.trial} | {pct(r.val_acc)} | {count(r.total_params)} | {r.epochs} | "
                     f"{secs(r.seconds)} | `{r.arch}` | {r.state} |")
    return "\n".join(lines) + "\n"


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
