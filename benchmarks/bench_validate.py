"""How long validation takes on the CPU: the library call and the whole `nas validate` command.

Target (issue "Foundation and nas validate"): validating a net of the reference size (~14.8k
params) takes under 2 s on the CPU.

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

    cli_seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nas", "validate", str(SEED_NET), "--json"],
                       check=True, capture_output=True, cwd=ROOT)
        cli_seconds.append(time.perf_counter() - start)

    record("validate", [
        {"what": "check(model) on the 14,770-param seed net", "median s": f"{median(check_seconds):.3f}",
         "runs": runs, "target s": 2.0},
        {"what": "`python -m nas validate seed_net.py --json`, process start included",
         "median s": f"{median(cli_seconds):.3f}", "runs": runs, "target s": 2.0},
    ], notes="first check() in a process included in the median; CLI time includes importing torch")


if __name__ == "__main__":
    main()
