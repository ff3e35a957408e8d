"""How long validation takes on the CPU: the library call and the whole `nas validate` command.

Target (issue "A validator you can trust"): `nas validate` on the reference net (14,770 params)
takes at most 3 s end to end, process start and the judging child process included. check()
runs the model forward and backward in train and eval mode at batch 3 and 128, watched and not.

    python benchmarks/bench_validate.py [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))

from record import median, record  # noqa: E402

from nas.modelfile import load_model  # noqa: E402
from nas.validator import check  # noqa: E402

SEED_NET = ROOT / "tests" / "models" / "seed_net.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    check_seconds = []
    for _ in range(runs):
        model = load_model(SEED_NET)
        start = time.perf_counter()
        report = check(model)
        check_seconds.append(time.perf_counter() - start)
    assert report.ok

    uncheck_seconds = []  # the floor: one process that only imports torch
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True, cwd=ROOT)
        uncheck_seconds.append(time.perf_counter() - start)

    cli_seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nas", "validate", str(SEED_NET), "--json"],
                       check=True, capture_output=True, cwd=ROOT)
        cli_seconds.append(time.perf_counter() - start)

    record("validate", [
        {"what": "check(model) on the 14,770-param seed net", "median s": f"{median(check_seconds):.3f}",
         "runs": runs, "target s": ""},
        {"what": "`python -c 'import torch'` (the floor any judging process pays)",
         "median s": f"{median(uncheck_seconds):.3f}", "runs": runs, "target s": ""},
        {"what": "`python -m nas validate seed_net.py --json`, process start included",
         "median s": f"{median(cli_seconds):.3f}", "runs": runs, "target s": 3.0},
    ], notes="first check() in a process included in the median; the CLI judges in a child process, "
             "which imports torch and records what the model computes; the parent imports torch too (in a "
             "thread, meanwhile), and checks the recording")


if __name__ == "__main__":
    main()
