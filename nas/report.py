"""PNG plots of a study: accuracy against params, the optimization history, parameter importances."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
import optuna.visualization.matplotlib as ovm  # noqa: E402

from nas.errors import NasError  # noqa: E402
from nas.results import leaderboard, pareto_front  # noqa: E402
from nas.storage import load_study  # noqa: E402
from nas.train import writable_dir  # noqa: E402

# Known points to beat, as test accuracy: (label, total params, accuracy)
ANCHORS = [("seed (hand-tuned, Keras)", 13_904, 0.9941), ("hand-built reference", 14_770, 0.996),
           ("small-net anchor", 697, 0.9903)]


def _pareto_plot(study: optuna.Study, storage: str, path: Path) -> None:
    """Accuracy (x) against total params (y), as Optuna draws a pareto study's front."""
    if len(study.directions) == 2:  # a pareto study: Optuna draws its own front
        ax = ovm.plot_pareto_front(study, target_names=["validation accuracy", "total params"])
        ax.figure.set_size_inches(9, 6)
    else:
        rows = leaderboard(storage, study.study_name)
        _, ax = plt.subplots(figsize=(9, 6))
        front = sorted(pareto_front(rows), key=lambda r: r.total_params)
        ax.scatter([r.val_acc for r in rows], [r.total_params for r in rows], alpha=0.5, label="trials")
        ax.plot([r.val_acc for r in front], [r.total_params for r in front], "o-", color="tab:red",
                label="Pareto front")
    for (label, params, acc), marker in zip(ANCHORS, ("*", "D", "s")):
        ax.scatter([acc], [params], marker=marker, s=140, color="black", zorder=5, label=f"{label}: {acc:.2%} (test)")
    ax.set_xlabel("validation accuracy")
    ax.set_ylabel("total params")
    ax.set_title(f"Study {study.study_name!r}: accuracy against params (anchors: test accuracy)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


def _target(study: optuna.Study) -> dict:
    if len(study.directions) == 2:
        return {"target": lambda t: t.values[0], "target_name": "validation accuracy"}
    return {"target_name": "validation accuracy"}


def write_report(storage: str, study_name: str, out_dir: str | Path | None = None) -> list[Path]:
    """Write pareto.png, history.png and importances.png; returns the paths written.

    Importances need at least two complete trials whose parameters vary; otherwise that plot is
    left out (and said so by the returned list).
    """
    study = load_study(storage, study_name)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise NasError(f"study {study_name!r} has no complete trial yet; run `nas search` first")
    out = Path(out_dir) if out_dir else Path("results") / study_name
    writable_dir(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "pareto.png"]
    with warnings.catch_warnings():  # Optuna marks its matplotlib backend experimental
        warnings.simplefilter("ignore")
        _pareto_plot(study, storage, out / "pareto.png")
        plots = [("history.png", ovm.plot_optimization_history)]
        if len(complete) >= 2:
            plots.append(("importances.png", ovm.plot_param_importances))
        for name, plot in plots:
            ax = plot(study, **_target(study))
            ax.figure.set_size_inches(9, 6)
            ax.figure.tight_layout()
            ax.figure.savefig(out / name, dpi=120)
            plt.close(ax.figure)
            written.append(out / name)
    return written
