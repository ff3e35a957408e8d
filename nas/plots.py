"""PNG plots of a study: accuracy against params, the optimization history, parameter importances."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
import optuna.visualization.matplotlib as ovm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter  # noqa: E402

from nas.errors import NasError  # noqa: E402
from nas.render import plural  # noqa: E402
from nas.config import RESULTS_DIR  # noqa: E402
from nas.leaderboard import leaderboard, pareto_front  # noqa: E402
from nas.train import writable_dir  # noqa: E402

# Results to beat, as test accuracy: (label, total params, accuracy). The hand-built reference net
# scored 99.59-99.63% in 20 epochs on an H100 (0.996 its middle); the default recipe gave it 99.58% on a CPU
# (docs/benchmarks.md).
KNOWN_RESULTS = [("hand-tuned (Keras)", 13_904, 0.9941), ("hand-built reference", 14_770, 0.996),
                 ("published small net", 697, 0.9903)]
# PED-ANOVA compares the most accurate 10% of the trials with the rest, and needs 2 trials in each
# (Optuna advises 5): with fewer than 20, the top 10% is one trial, and the bars show how that one
# trial differs from the others, not what matters
MIN_TRIALS_FOR_IMPORTANCES = 20

# Readable names for the parameters search_spaces/default.py's family() samples (every shipped space uses it)
_LABELS = {"activation": "activation function", "dropout": "dropout rate",
           "head": "head order (GAP then 1×1, or 1×1 then GAP)", "lr": "learning rate (one-cycle peak)",
           "batch_size": "batch size (images)", "weight_decay": "weight decay",
           "augment": "augmentation strength", "label_smoothing": "label smoothing",
           "param_budget": "parameter budget (total params)", "blocks": "number of blocks"}
_BLOCK_PARAMS = [  # names carry the block index counted from 0; people count blocks from 1
    (re.compile(r"b(\d+)_c(\d+)"), lambda b, c: f"block {int(b) + 1}, unit {int(c) + 1} width (channels)"),
    (re.compile(r"b(\d+)_units"), lambda b: f"block {int(b) + 1}, number of units"),
    (re.compile(r"b(\d+)_unit"), lambda b: f"block {int(b) + 1}, unit kind (conv, residual or separable)"),
    (re.compile(r"b(\d+)_r(\d+)_convs"), lambda b, r: f"block {int(b) + 1}, residual {int(r) + 1} convs"),
    (re.compile(r"b(\d+)_kernel"), lambda b: f"block {int(b) + 1} kernel (size, dilation)"),
    (re.compile(r"b(\d+)_join"), lambda b: f"block {b} → {int(b) + 1} join (pool or stride 2)"),
    (re.compile(r"b(\d+)_se"), lambda b: f"block {int(b) + 1} squeeze-and-excitation gate"),
    (re.compile(r"t(\d+)"), lambda b: f"transition {b} width (channels, block {b} → {int(b) + 1})"),
    # studies of the first default space
    (re.compile(r"b(\d+)_convs"), lambda b: f"block {int(b) + 1}, number of convs"),
    (re.compile(r"b(\d+)_dilation"), lambda b: f"block {int(b) + 1} dilation"),
]


def param_label(name: str) -> str:
    """A readable label for a parameter of the default space's family; any other name as it is."""
    if name in _LABELS:
        return _LABELS[name]
    for pattern, label in _BLOCK_PARAMS:
        if match := pattern.fullmatch(name):
            return label(*match.groups())
    return name


class ReportFiles(NamedTuple):
    written: list[Path]
    skipped: list[str]  # one line per plot left out, saying why


def _titles(fig: Figure, ax, title: str, subtitle: str) -> None:
    fig.suptitle(title, fontweight="bold")
    ax.set_title(subtitle, fontsize=9)


def _pareto_plot(study: optuna.Study, path: Path) -> None:
    """Accuracy (x) against total params (y), as Optuna draws a pareto study's front."""
    if len(study.directions) == 2:  # a pareto study: Optuna draws its own front
        ax = ovm.plot_pareto_front(study, target_names=["validation accuracy", "total params"])
        ax.figure.set_size_inches(9, 6)
    else:
        rows = leaderboard(study)
        _, ax = plt.subplots(figsize=(9, 6))
        front = sorted(pareto_front(rows), key=lambda r: r.total_params)
        ax.scatter([r.val_acc for r in rows], [r.total_params for r in rows], alpha=0.5, label="trials")
        ax.plot([r.val_acc for r in front], [r.total_params for r in front], "o-", color="tab:red",
                label="Pareto front")
    for (label, params, acc), marker in zip(KNOWN_RESULTS, ("*", "D", "s")):
        ax.scatter([acc], [params], marker=marker, s=140, color="black", zorder=5, label=f"{label}: {acc:.2%} (test)")
    ax.set_xlabel("validation accuracy (%)")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_ylabel("total params (count)")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    _titles(ax.figure, ax, f"Study {study.study_name!r}: accuracy against params",
            "each complete trial's best validation accuracy and size; black markers: known models' test accuracy")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


def history_figure(study: optuna.Study) -> Figure:
    """Each complete trial's validation accuracy by trial number, and the best so far."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    numbers = [t.number for t in complete]
    accs = [t.values[0] for t in complete]  # validation accuracy: the first objective in both kinds of study
    best = [max(accs[:i + 1]) for i in range(len(accs))]
    fig, ax = plt.subplots(figsize=(9, 6))
    ax.scatter(numbers, accs, alpha=0.6, label="trial")
    ax.step(numbers, best, where="post", color="tab:red", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are numbered; 2.5 is no trial
    # accuracy cannot pass 100%; a tenth of the gap below the worst trial keeps every point in view
    low = min(accs)
    ax.set_ylim(max(0.0, low - 0.1 * (1.0 - low) - 1e-3), 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("trial number")
    ax.set_ylabel("validation accuracy (%)")
    _titles(fig, ax, f"Study {study.study_name!r}: optimization history",
            f"best validation accuracy of each of {plural(len(complete), 'complete trial')} "
            "(pruned and rejected ones not shown), and the best so far")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def importances_figure(study: optuna.Study) -> Figure:
    """How much each parameter matters to validation accuracy, by Optuna's default evaluator (PED-ANOVA)."""
    # PED-ANOVA ranks by the target as if lower were better: accuracy is negated so the best
    # trials are the most accurate ones (in a pareto study too, where accuracy is values[0])
    with warnings.catch_warnings():  # it warns of a custom target and of regimes with few trials: said in the subtitle
        warnings.simplefilter("ignore")
        importances = optuna.importance.get_param_importances(study, target=lambda t: -t.values[0])
    names = list(importances)[::-1]  # the most important at the top
    fig, ax = plt.subplots(figsize=(9, 6))
    ax.barh([param_label(n) for n in names], [importances[n] for n in names], color="tab:blue")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("importance (% of the total; all parameters sum to 100%)")
    ax.set_ylabel("searched parameter")
    n = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    _titles(fig, ax, f"Study {study.study_name!r}: parameter importances",
            f"PED-ANOVA over {plural(n, 'complete trial')}: what sets the most accurate 10% apart")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def write_plots(study: optuna.Study, out_dir: str | Path | None = None) -> ReportFiles:
    """Write pareto.png, history.png and importances.png; returns the paths written and the plots skipped."""
    study_name = study.study_name
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise NasError(f"study {study_name!r} has no complete trial yet; run `nas search` first")
    out = Path(out_dir) if out_dir else Path(RESULTS_DIR) / study_name
    writable_dir(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles([out / "pareto.png"], [])
    with warnings.catch_warnings():  # Optuna marks its matplotlib backend experimental
        warnings.simplefilter("ignore")
        _pareto_plot(study, out / "pareto.png")
    plots = [("history.png", history_figure)]
    if len(complete) >= MIN_TRIALS_FOR_IMPORTANCES:
        plots.append(("importances.png", importances_figure))
    else:
        files.skipped.append(f"Skipped importances.png: it compares the best 10% of the trials with the rest "
                             f"and needs at least {MIN_TRIALS_FOR_IMPORTANCES} complete ones; study "
                             f"{study_name!r} has {len(complete)} (run more trials)")
    for name, build in plots:
        fig = build(study)
        fig.savefig(out / name, dpi=120)
        plt.close(fig)
        files.written.append(out / name)
    return files
