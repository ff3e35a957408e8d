"""The share of each shipped space's candidates rejected before training.

Target (issue "Search space v2"): below 10% per space, over a 200-candidate random sample
(a seeded RandomSampler in an in-memory study), each candidate built and judged by check() as
the search judges it (validator violations, or a receptive field under the space's floor).

    python benchmarks/bench_spaces.py [--candidates 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from record import record  # noqa: E402

from nas.search import sample_space  # noqa: E402

SPACES = ("default", "tiny", "wide")
BLOCKS = ("residual", "separable", "se")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = []
    for name in SPACES:
        start = time.perf_counter()
        sample = sample_space(name, count=args.candidates, seed=args.seed)
        seconds = time.perf_counter() - start
        reasons = Counter(reason.split(":")[0].split(" px")[0] for reason in sample.reasons if reason)
        holding = {block: sum(any(s["type"] == block for s in arch) for arch in sample.archs) for block in BLOCKS}
        rows.append({
            "space": name, "candidates": args.candidates, "rejected": sum(reasons.values()),
            "rejected share": f"{sample.rejected_share:.1%}", "target": "< 10%",
            "reasons": "; ".join(f"{why} ×{n}" for why, n in reasons.most_common(3)) or "none",
            "total params min / median / max": " / ".join(
                f"{v:,}" for v in (min(sample.total_params), int(statistics.median(sample.total_params)),
                                    max(sample.total_params))),
            "with residual / separable / SE": " / ".join(str(holding[b]) for b in BLOCKS),
            "seconds": f"{seconds:.0f}"})
    record("spaces", rows, notes=f"seed {args.seed}; build + check() at batch 3 per candidate, none trained")


if __name__ == "__main__":
    main()
