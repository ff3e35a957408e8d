"""The product's main job, measured: `nas search --trials 50 --epochs 20`, then its best trial's test accuracy.

Records the search's wall time, the leaderboard, the best trial evaluated with 3 seeds on all
60,000 training images, the exported best model and the plots:
benchmarks/results/search-<device>.{json,md}, results/<study>/leaderboard.md, best.py, *.png.

    python benchmarks/bench_search.py [--trials 50] [--epochs 20] [--workers N] [--pruner none]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import record  # noqa: E402

from nas.evaluate import evaluate_trial  # noqa: E402
from nas.report import write_report  # noqa: E402
from nas.results import export_trial, leaderboard, to_markdown  # noqa: E402
from nas.search import SearchSettings, run_search  # noqa: E402
from nas.train import resolve_device  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--pruner", default="none", help="none by default: every trial trains all epochs")
    parser.add_argument("--objective", default="accuracy")
    parser.add_argument("--space", default="default")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds for the best trial")
    parser.add_argument("--subset", type=int, default=None, help="for a quick check of this script only")
    parser.add_argument("--study", default=None, help="default: bench-<objective>-<space>")
    parser.add_argument("--storage", default="sqlite:///results/bench.db")
    args = parser.parse_args()
    study = args.study or f"bench-{args.objective}-{args.space}"
    device = resolve_device("auto")

    settings = SearchSettings(space=args.space, trials=args.trials, epochs=args.epochs, subset=args.subset,
                              storage=args.storage, study=study, pruner=args.pruner, objective=args.objective,
                              workers=args.workers)
    start = time.perf_counter()
    outcome = run_search(settings)
    search_seconds = time.perf_counter() - start

    rows = leaderboard(args.storage, study)
    best = rows[0]
    evaluation = evaluate_trial(args.storage, study, best.trial, args.seeds, subset=args.subset)
    out = Path("results") / study
    out.mkdir(parents=True, exist_ok=True)
    export_trial(args.storage, study, best.trial, out / "best.py", out / "best.pt")
    write_report(args.storage, study, out)
    rows = leaderboard(args.storage, study)  # now with the test figures
    (out / "leaderboard.md").write_text(f"# Study {study!r}\n\n`{' '.join(sys.argv)}`\n\n" + to_markdown(rows))

    record(f"search-{device.type}", [{
        "trials trained": outcome.trained, "rejected": outcome.rejected, "epochs": args.epochs,
        "workers": args.workers or "default", "search wall s": f"{search_seconds:.1f}",
        "best trial": best.trial, "arch": f"`{best.arch}`", "params": best.total_params,
        "val acc": f"{best.val_acc:.2%}",
        f"test acc ({args.seeds} seeds)": f"{evaluation.mean:.2%} ± {evaluation.std:.2%} "
                                         f"(min {min(evaluation.test_accs):.2%}, max {max(evaluation.test_accs):.2%})",
    }], notes=f"space {args.space}, objective {args.objective}, pruner {args.pruner}, storage {args.storage}; "
              f"outcomes in {out}/")


if __name__ == "__main__":
    main()
