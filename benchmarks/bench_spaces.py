"""The share of each shipped space's candidates rejected before training, and whether every
candidate survives export.

Target (issue "Search space v2"): below 10% per space, over a 200-candidate random sample
(a seeded RandomSampler in an in-memory study), each candidate built and judged by check() as
the search judges it (validator violations, or a receptive field under the space's floor).
Then each candidate is exported as `nas export` writes it (nas.arch.source), the file is judged
as `nas validate` judges it (nas.judge.judge_file: its own process, the file imported fresh),
and the built model's state_dict is loaded into the file's model (the trial's weights).

    python benchmarks/bench_spaces.py [--candidates 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from record import record  # noqa: E402

from nas.arch import build, source  # noqa: E402
from nas.judge import judge_file  # noqa: E402
from nas.modelfile import load_model  # noqa: E402
from nas.search import sample_space  # noqa: E402

SPACES = ("default", "tiny", "wide")
BLOCKS = ("residual", "separable", "se")


def survives_export(arch: list[dict], folder: Path, index: int) -> str | None:
    """None when the exported file passes `nas validate` and loads the built model's weights; else why not."""
    path = folder / f"candidate_{index}.py"
    path.write_text(source(arch))
    report = judge_file(path)
    if not report.ok:
        return f"validate: {report.violations[0].message}"
    try:
        load_model(path).load_state_dict(build(arch).state_dict())
    except RuntimeError as exc:
        return f"weights: {str(exc).splitlines()[0]}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = []
    folder = Path(tempfile.mkdtemp(prefix="nas-bench-spaces-"))
    for name in SPACES:
        start = time.perf_counter()
        sample = sample_space(name, count=args.candidates, seed=args.seed)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        export_faults = [why for i, arch in enumerate(sample.archs) if (why := survives_export(arch, folder, i))]
        export_seconds = time.perf_counter() - start
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
            "exported, validated, weights loaded": f"{len(sample.archs) - len(export_faults)}/{len(sample.archs)}"
                                                   + (f" ({export_faults[0]})" if export_faults else ""),
            "seconds (sample / export)": f"{seconds:.0f} / {export_seconds:.0f}"})
    shutil.rmtree(folder)
    record("spaces", rows, notes=f"seed {args.seed}; build + check() at batch 3 per candidate, none trained; "
                                 "then every candidate exported, judged by `nas validate`'s child process, "
                                 "and its weights loaded")


if __name__ == "__main__":
    main()
