"""The product's main job, measured: a search, then its best trials' test accuracy.

`--objective accuracy` (default): `nas search --trials 50 --epochs 20` on the default space; the
best trial is evaluated with 3 seeds on all 60,000 training images against the 99.6% target.
`--objective pareto --space wide`: a front from under 1,000 params to the limit; the best trial
under each budget (1,000, 5,000, 15,000 params) is evaluated against its target.
Records the search's wall time, each evaluated trial and whether it met its target in
benchmarks/results/search-<objective>-<device>.{json,md}, and writes results/reference/<study>/:
leaderboard.md (headed by this command), the evaluated trials exported as <label>.py (and .pt,
ignored), and the plots.

    python benchmarks/bench_search.py [--trials 50] [--epochs 20] [--workers N] [--pruner none] [--timeout S]
    python benchmarks/bench_search.py --objective pareto --space wide [--trials 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import record  # noqa: E402

from nas.errors import NasError  # noqa: E402
from nas.final_test import final_test_trial  # noqa: E402
from nas.plots import write_plots  # noqa: E402
from nas.export import export_trial  # noqa: E402
from nas.leaderboard import leaderboard  # noqa: E402
from nas.render import to_markdown  # noqa: E402
from nas.config import SearchSettings  # noqa: E402
from nas.search import run_search  # noqa: E402
from nas.storage import load_study  # noqa: E402
from nas.train import resolve_device  # noqa: E402

# What the reference runs must reach (issue 11), as (label, most total params, 3-seed test accuracy).
# Published for these rules or looser: 99.57% at 14,372 params; 99.42% at 4,838 (with biases);
# 99.03-99.05% at 697-997 (a dense head, up to 200 epochs). The hand-built 14,770-param net: 99.6%.
TARGETS = {
    "accuracy": [("best", 14_999, 0.996)],
    "pareto": [("le1k", 1_000, 0.991), ("le5k", 5_000, 0.995), ("lt15k", 14_999, 0.996)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--pruner", default="none", help="none by default: every trial trains all epochs")
    parser.add_argument("--objective", default="accuracy", choices=sorted(TARGETS))
    parser.add_argument("--space", default="default")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds per evaluated trial")
    parser.add_argument("--subset", type=int, default=None, help="for a quick check of this script only")
    parser.add_argument("--study", default=None, help="default: bench-<objective>-<space>")
    parser.add_argument("--storage", default="sqlite:///results/bench.db")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds after which no new trial starts, so that a run with a time limit still "
                             "evaluates (the record says how many were trained)")
    args = parser.parse_args()
    study = args.study or f"bench-{args.objective}-{args.space}"
    device = resolve_device("auto")

    try:
        load_study(args.storage, study)
    except NasError:  # no such study yet: a reference run starts from an empty one
        pass
    else:
        raise SystemExit(f"study {study!r} already exists in {args.storage}: a reference run starts from an "
                         "empty study; pass another --study, or delete it")
    settings = SearchSettings(space=args.space, trials=args.trials, epochs=args.epochs, subset=args.subset,
                              storage=args.storage, study=study, pruner=args.pruner, objective=args.objective,
                              workers=args.workers, timeout=args.timeout)
    start = time.perf_counter()
    outcome = run_search(settings)
    search_seconds = time.perf_counter() - start

    out = Path("results") / "reference" / study
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_study(args.storage, study)
    ranked = leaderboard(loaded)
    rows, evaluations = [], {}
    for label, budget, target in TARGETS[args.objective]:
        row = dict.fromkeys(["trial", "arch", "params", "val acc", f"test acc ({args.seeds} seeds)", "met", "file"], "-")
        row = {"target": f"≥ {target:.1%} at ≤ {budget:,} params"} | row
        fits = [r for r in ranked if r.total_params <= budget]
        if not fits:
            rows.append(row | {"trial": "none that small", "met": "no"})
            continue
        best = fits[0]  # ranked: best validation accuracy, ties to fewer params
        if best.trial not in evaluations:  # one trial can be the best under two budgets
            evaluations[best.trial] = final_test_trial(loaded, best.trial, args.seeds, subset=args.subset)
        evaluation = evaluations[best.trial]
        export_trial(loaded, best.trial, out / f"{label}.py", out / f"{label}.pt")
        rows.append(row | {
            "trial": best.trial, "arch": f"`{best.arch}`", "params": f"{best.total_params:,}",
            "val acc": f"{best.val_acc:.2%}",
            f"test acc ({args.seeds} seeds)": evaluation.summary(),
            "met": "yes" if evaluation.mean >= target else "no", "file": f"{out}/{label}.py"})
    write_plots(loaded, out)
    ranked = leaderboard(loaded)  # now with the test figures
    (out / "leaderboard.md").write_text(f"# Study {study!r}\n\n`python {' '.join(sys.argv)}`\n\n"
                                        + to_markdown(ranked))

    record(f"search-{args.objective}-{device.type}", rows,
           notes=f"search: {outcome.trained} trials trained × {args.epochs} epochs, {outcome.rejected} rejected, "
                 f"stopped: {outcome.stop_reason}, "
                 f"wall {search_seconds:.1f} s with {args.workers or 'the default number of'} workers; space "
                 f"{args.space}, pruner {args.pruner}, storage {args.storage}; outcomes in {out}/")


if __name__ == "__main__":
    main()
