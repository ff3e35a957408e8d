"""Several worker processes on one SQLite file: do writes ever fail with "database is locked"?

The choice for one machine: SQLite through Optuna's RDBStorage with a 60 s busy timeout (SQLite
waits for a lock instead of failing at once), rather than JournalStorage: it keeps the same
storage as every other command, optuna-dashboard reads it, and heartbeats (crash recovery) need
an RDB storage. This measures it under a write-heavy load: many very short trials, heartbeats
every second, all workers writing at once.

    python benchmarks/bench_sqlite_workers.py [--workers 4] [--trials 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import median, record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows, walls = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            storage = f"sqlite:///{tmp}/bench.db"
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "nas", "search", "--workers", str(args.workers), "--trials", str(args.trials),
                 "--epochs", "1", "--subset", "512", "--val-subset", "500", "--device", "cpu", "--space", "tiny",
                 "--heartbeat", "1", "--seed", str(run), "--study", "bench", "--storage", storage,
                 "--results-dir", f"{tmp}/results"], cwd=ROOT, capture_output=True, text=True)
            walls.append(time.perf_counter() - start)
            board = subprocess.run([sys.executable, "-m", "nas", "leaderboard", "--all", "--format", "json",
                                    "--study", "bench", "--storage", storage], cwd=ROOT, capture_output=True, text=True)
            states = [r["state"] for r in json.loads(board.stdout or "[]")]
            rows.append({"run": run + 1, "exit": proc.returncode, "complete": states.count("complete"),
                         "rejected": states.count("rejected"), "failed": states.count("failed"),
                         "'locked' in output": (proc.stdout + proc.stderr).lower().count("locked"),
                         "wall s": f"{walls[-1]:.1f}"})
    record("sqlite-workers", rows, notes=f"{args.workers} workers, {args.trials} trials of 1 epoch on 512 images, "
                                         f"heartbeat 1 s; median wall {median(walls):.1f} s")


if __name__ == "__main__":
    main()
