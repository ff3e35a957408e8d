"""The same trials with 1, 2, 4, ... worker processes: throughput, and whether the rankings agree.

A 1-worker search samples --trials candidates from the space. Then fresh studies are given
exactly those candidates (Optuna's enqueue_trial, in the same order): once more with 1 worker
but training seed 1 instead of 0, which measures the noise (how much a trial's validation
accuracy and the ranking move with the seed alone), and then with each worker count, seed 0.
Results differ between worker counts even at the same seed (the thread count per process
changes float summation order on the CPU; GPU kernels are not all deterministic), so "agree"
means: no further apart than two seeds are. Reported per run: wall seconds, speed-up over 1
worker, the largest change in any trial's validation accuracy, Spearman's rank correlation of
the leaderboard and whether the best trial is the same, each against the first 1-worker run.

    python benchmarks/bench_workers.py [--trials 16] [--epochs 20] [--workers 2 4 8] [--subset N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import record  # noqa: E402

import optuna  # noqa: E402

from nas.search import SearchSettings, run_search  # noqa: E402
from nas.storage import load_study, open_study  # noqa: E402
from nas.train import resolve_device  # noqa: E402


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation: 1.0 when both orderings are the same."""
    ra, rb = ranks(a), ranks(b)
    mean_a, mean_b = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb))
    var_a = sum((x - mean_a) ** 2 for x in ra)
    var_b = sum((y - mean_b) ** 2 for y in rb)
    return cov / (var_a * var_b) ** 0.5 if var_a and var_b else 1.0


def complete_trials(storage: str, study: str) -> list:
    trials = load_study(storage, study).get_trials(deepcopy=False)
    return sorted((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8], help="counts to compare with 1")
    parser.add_argument("--space", default="default")
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    work = Path(tempfile.mkdtemp(prefix="nas-bench-workers-"))
    storage = f"sqlite:///{work / 'workers.db'}"

    def search(workers: int, seed: int, candidates: list[dict] | None = None) -> tuple[float, dict[str, float]]:
        """Wall seconds, and validation accuracy by candidate (its parameters as the key)."""
        settings = SearchSettings(space=args.space, trials=args.trials, epochs=args.epochs, subset=args.subset,
                                  device=args.device, storage=storage, study=f"workers-{workers}-seed-{seed}",
                                  pruner="none", workers=workers, seed=seed, results_dir=str(work))
        if candidates is not None:
            study = open_study(storage, settings.study, optuna.samplers.RandomSampler(), optuna.pruners.NopPruner())
            for params in candidates:  # in the first run's order
                study.enqueue_trial(params)
        start = time.perf_counter()
        run_search(settings)
        seconds = time.perf_counter() - start
        return seconds, {repr(sorted(t.params.items())): t.value for t in complete_trials(storage, settings.study)}

    first_seconds, first = search(1, seed=0)
    candidates = [t.params for t in complete_trials(storage, "workers-1-seed-0")]
    keys = list(first)
    rows = [{"run": "1 worker, seed 0", "trials": len(first), "wall s": f"{first_seconds:.1f}", "speed-up": "1.00×",
             "max Δ val acc (abs)": "-", "Spearman": "-", "same best trial": "-"}]
    runs = [("1 worker, seed 1 (the noise)", 1, 1)] + [(f"{n} workers, seed 0", n, 0) for n in args.workers]
    for label, workers, seed in runs:
        seconds, other = search(workers, seed, candidates)
        if sorted(other) != sorted(keys):
            raise SystemExit(f"the run '{label}' trained other candidates than the first run")
        a, b = [first[k] for k in keys], [other[k] for k in keys]
        rows.append({"run": label, "trials": len(other), "wall s": f"{seconds:.1f}",
                     "speed-up": f"{first_seconds / seconds:.2f}×",
                     "max Δ val acc (abs)": f"{max(abs(x - y) for x, y in zip(a, b)):.2%}",
                     "Spearman": f"{spearman(a, b):.3f}",
                     "same best trial": "yes" if a.index(max(a)) == b.index(max(b)) else "no"})

    shutil.rmtree(work)  # the trials' weights and the storage: only the figures are kept
    name = f"workers-{'gpu' if device.type == 'cuda' else 'cpu'}"
    record(name, rows, notes=f"space {args.space}, {args.trials} candidates × {args.epochs} epochs"
                             f"{f', subset {args.subset}' if args.subset else ''}, pruner none; the same "
                             "candidates (enqueued) in every run; Δ, Spearman and best trial against the first run")


if __name__ == "__main__":
    main()
