"""The main job on a CPU: `nas search --trials 50` with the defaults, timed end to end.

Runs the real command (a fresh study in its own storage file under results/), then reads the
study: the wall time, how many candidates were trained in full (every epoch on the whole
50,000-image split) and the best validation accuracy among them, against the targets (60 min,
3 full trainings, 99.5%). Records benchmarks/results/search-cpu.{json,md}, with the top of the
leaderboard.

    python benchmarks/bench_cpu_search.py [--trials 50] [-- EXTRA NAS SEARCH OPTIONS]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import record  # noqa: E402

from nas.leaderboard import leaderboard  # noqa: E402
from nas.storage import load_study  # noqa: E402

TARGET_SECONDS, TARGET_FULL, TARGET_VAL_ACC = 3600, 3, 0.995


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--study", default=f"cpu-search-{time.strftime('%Y%m%d-%H%M%S')}")
    parser.add_argument("extra", nargs="*", help="more `nas search` options, after --")
    args = parser.parse_args()
    Path("results").mkdir(exist_ok=True)
    storage = f"sqlite:///results/{args.study}.db"
    command = [sys.executable, "-m", "nas", "search", "--trials", str(args.trials), "--study", args.study,
               "--storage", storage, *args.extra]
    print("$ " + " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start

    rows = leaderboard(load_study(storage, args.study))
    full = [r for r in rows if r.full and r.state == "complete"]
    best = full[0] if full else None
    record("search-cpu", [{
        "wall min": f"{wall / 60:.1f}", "target min": TARGET_SECONDS // 60,
        "candidates": args.trials, "trainings": len(rows), "full trainings": len(full),
        "full epochs × images": ", ".join(sorted({f"{r.epochs} × {r.images:,}" for r in full})) or "-",
        "best full val acc": f"{best.val_acc:.2%}" if best else "-",
        "best trial": f"{best.trial}: `{best.arch}`, {best.total_params:,} params" if best else "-",
        "met": "yes" if (wall <= TARGET_SECONDS and len(full) >= TARGET_FULL and best
                         and best.val_acc >= TARGET_VAL_ACC) else "no"}],
        notes=f"`nas search --trials {args.trials}` with the defaults (plus {' '.join(args.extra) or 'nothing'}); "
              f"study {args.study}. Top 10 of the leaderboard:\n\n"
              + "\n".join(f"  {r.rank}. trial {r.trial}: {r.val_acc:.2%} val, {r.total_params:,} params, "
                          f"{r.epochs} epochs × {r.images or 0:,} images{'' if r.full else ' (lower rung)'}, "
                          f"{r.seconds:.0f} s, `{r.arch}`" for r in rows[:10]))


if __name__ == "__main__":
    main()
