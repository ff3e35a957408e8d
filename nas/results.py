"""What a study found: leaderboard rows, ranked, in JSON, CSV or markdown."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState

from nas.arch import arch_string, build, source, total_params
from nas.errors import NasError
from nas.render import plural
from nas.storage import load_study



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
    val_acc = trial.values[0] if trial.state == TrialState.COMPLETE else (max(history) if history else None)
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


def check_top(top: int | None) -> None:
    if top is not None and top < 1:
        raise NasError(f"--top {top} is not a number of rows; use 1 or more")


def leaderboard(storage: str, study: str, top: int | None = None, include_all: bool = False) -> list[Row]:
    """Ranked rows of a study: complete trials, or every trial with include_all; the best `top` if given."""
    check_top(top)
    loaded = load_study(storage, study)
    rows = rank([row(t) for t in loaded.get_trials(deepcopy=False)
                 if include_all or t.state == TrialState.COMPLETE])
    mark_pareto(rows)
    evaluations = loaded.user_attrs
    for r in rows:
        kept = evaluations.get(evaluation_key(r.trial))
        if kept:
            shown = ([e for e in kept if e["full"]] or kept)[-1]  # the latest full one; else the latest partial
            r.test_acc, r.test_acc_std = shown["mean"], shown["std"]
            r.test_acc_settings = _measured(shown)
    return rows[:top]


def _rounded(recipe: dict) -> dict:
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in recipe.items()}


def pareto_front(rows: list[Row]) -> list[Row]:
    """Complete trials that no other complete trial beats on accuracy and params together."""
    done = [r for r in rows if r.state == "complete" and r.val_acc is not None and r.total_params is not None]

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


def complete_trial(storage: str, study: str, number: int) -> tuple[optuna.Study, optuna.trial.FrozenTrial]:
    """A complete trial of a study, or a NasError that says which trials are."""
    loaded = load_study(storage, study)
    trials = {t.number: t for t in loaded.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if number not in trials:
        known = ", ".join(map(str, sorted(trials)[:20])) or "none"
        raise NasError(f"trial {number} of study {study!r} is not a complete trial; complete trials: {known}")
    return loaded, trials[number]


def export_trial(storage: str, study: str, number: int, out: str | Path, weights: str | Path | None = None,
                 onnx: str | Path | None = None) -> Path:
    """Write trial `number` as a standalone PyTorch file, and its trained weights or ONNX if asked."""
    _, trial = complete_trial(storage, study, number)
    attrs = trial.user_attrs
    arch = attrs["arch"]  # stored data: arch_string, total_params and source check it before use
    doc = (f"Trial {number} of study {study!r}, found by nas: {arch_string(arch)}.\n\n"
           f"{total_params(arch):,} total params, validation accuracy {trial.values[0]:.2%} after "
           f"{attrs.get('epochs')} epoch(s). Recipe: {json.dumps(_rounded(attrs['recipe']))}.")
    try:
        Path(out).write_text(source(arch, class_name=f"Trial{number}Net", doc=doc))
        if weights is None and onnx is None:
            return Path(out)
        model = _trained_model(attrs, number)
        if weights is not None:
            torch.save(model.state_dict(), weights)
        if onnx is not None:
            export_onnx(model.eval(), onnx)
    except OSError as exc:
        raise NasError(f"cannot write {exc.filename or out}: {exc.strerror}; pass a path in a writable "
                       "folder") from None
    return Path(out)


def _trained_model(attrs: dict, number: int) -> torch.nn.Module:
    """The trial's model with its stored weights, or a NasError saying why they cannot be had."""
    stored = Path(attrs.get("weights", ""))
    if not stored.is_file():
        raise NasError(f"trial {number}'s weights are not at {stored}; run export where the search ran "
                       "(or from a copy of its results folder)")
    try:
        state = torch.load(stored, weights_only=True)  # weights_only: the file is data, never code
    except Exception as exc:  # torch raises many kinds for a damaged file: pickle, zip, EOF, runtime
        raise NasError(f"trial {number}'s weights file {stored} is damaged ({type(exc).__name__}); rerun the "
                       "trial") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NasError(f"trial {number}'s weights file {stored} holds a {type(state).__name__}, not a "
                       "state_dict; rerun the trial")
    model = build(attrs["arch"])
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise NasError(f"trial {number}'s stored weights do not fit its architecture (saved by an older "
                       "nas?); rerun the trial") from None
    return model


def export_onnx(model: torch.nn.Module, path: str | Path, tolerance: float = 1e-4) -> bool:
    """Write `model` as ONNX. Where onnxruntime is installed, check its outputs match PyTorch's.

    Returns whether the check ran. Raises NasError when the exporter is missing or outputs differ.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxscript  # noqa: F401
    except ImportError:
        raise NasError("--onnx needs the onnx and onnxscript packages: pip install 'nas[onnx]'") from None
    example = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.onnx.export(model, (example,), str(path), input_names=["images"], output_names=["logits"],
                      dynamic_shapes=({0: torch.export.Dim("batch")},),  # any batch size
                      verbose=False)  # no progress lines: the command prints what it wrote
    try:
        import onnxruntime
    except ImportError:
        return False
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    with torch.no_grad():
        want = model(example).numpy()
    worst = float(abs(got - want).max())
    if worst > tolerance:
        raise NasError(f"the ONNX model's outputs differ from PyTorch's by {worst:.2g} (> {tolerance:g})")
    return True


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows])


def to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Row)])
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return out.getvalue()


def to_markdown(rows: list[Row]) -> str:
    lines = ["| rank | trial | val acc | test acc | params | pareto | epochs | seconds | architecture | state |",
             "|---:|---:|---:|---:|---:|:---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.rank or ''} | {r.trial} | {pct(r.val_acc)} | {test_acc(r)} | {count(r.total_params)} | "
                     f"{'★' if r.pareto else ''} | {r.epochs} | {secs(r.seconds)} | `{r.arch}` | {r.state} |")
    return "\n".join(lines) + "\n"


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def test_acc(r: Row) -> str:
    return "" if r.test_acc is None else f"{r.test_acc:.2%} ± {r.test_acc_std:.2%} ({r.test_acc_settings})"


def count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
