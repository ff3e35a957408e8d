"""Does the cheap fidelity rank candidates as full training does? Rank agreement of the rungs.

Samples --trials candidates from the space and trains each at every rung of the CPU default
(nas/config.py RUNGS: a complete short training on the first N images) and in full (20 epochs
on the 50,000-image split), seed 0; then in full again with seed 1, which measures the noise:
how much the full ranking moves with the seed alone. Each rung's training is a search at that
fidelity over the same candidates (Optuna's enqueue_trial, in the same order). Reported per
rung against full training: Spearman's rank correlation, the overlap of the top 3, and whether
the best full candidate survives the rung's cut (is in its best 1/PROMOTE_ONE_IN[k]; the noise row
with the last rung's cut).

    python benchmarks/bench_fidelity.py [--trials 12] [--device auto] [--noise-seeds 1]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_workers import complete_trials, spearman  # noqa: E402
from record import record  # noqa: E402

import optuna  # noqa: E402

from nas.config import RUNGS  # noqa: E402
from nas.fidelity import promote_one_in  # noqa: E402
from nas.search import SearchSettings, run_search  # noqa: E402
from nas.storage import open_study  # noqa: E402
from nas.train import resolve_device  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=20, help="full training's epochs")
    parser.add_argument("--space", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--noise-seeds", type=int, default=1, help="full trainings with seeds 1..N, for the noise")
    args = parser.parse_args()
    device = resolve_device(args.device)
    work = Path(tempfile.mkdtemp(prefix="nas-bench-fidelity-"))
    storage = f"sqlite:///{work / 'fidelity.db'}"

    def accuracies(label: str, epochs: int, images: int | None, seed: int = 0,
                   candidates: list[dict] | None = None) -> dict[str, float]:
        """Validation accuracy of each candidate trained at this fidelity, by its parameters."""
        settings = SearchSettings(space=args.space, trials=args.trials, epochs=epochs, subset=images,
                                  device=args.device, storage=storage, study=label, pruner="none",
                                  fidelity="full", seed=seed, results_dir=str(work))
        if candidates is not None:
            study = open_study(storage, label, optuna.samplers.RandomSampler(), optuna.pruners.NopPruner())
            for params in candidates:
                study.enqueue_trial(params)
        run_search(settings)
        return {repr(sorted(t.params.items())): t.value for t in complete_trials(storage, label)}

    cheapest_epochs, cheapest_images = RUNGS[0]
    cheap = {RUNGS[0]: accuracies("rung-0", cheapest_epochs, cheapest_images)}
    candidates = [t.params for t in complete_trials(storage, "rung-0")]
    for k, (epochs, images) in enumerate(RUNGS[1:], 1):
        cheap[(epochs, images)] = accuracies(f"rung-{k}", epochs, images, candidates=candidates)
    runs = {"full": accuracies("full", args.epochs, None, candidates=candidates)}
    for seed in range(1, args.noise_seeds + 1):
        runs[f"full, seed {seed} (the noise)"] = accuracies(f"full-seed-{seed}", args.epochs, None, seed, candidates)
    shutil.rmtree(work)  # weights and the storage: only the figures are kept
    runs |= {f"{e} epochs × {n:,} images": values for (e, n), values in cheap.items()}
    keys = [k for k in runs["full"] if all(k in values for values in runs.values())]  # trained in every run
    full = [runs["full"][k] for k in keys]

    def compare(label: str, values: list[float], rung: int) -> dict:
        cut = max(1, math.floor(len(values) / promote_one_in(rung)))
        top = sorted(range(len(values)), key=lambda i: -values[i])
        best_full = max(range(len(full)), key=full.__getitem__)
        top3_full = set(sorted(range(len(full)), key=lambda i: -full[i])[:3])
        return {"fidelity": label, "Spearman vs full": f"{spearman(values, full):.3f}",
                "top-3 overlap": f"{len(set(top[:3]) & top3_full)}/3",
                "best full survives the cut": f"{'yes' if best_full in top[:cut] else 'no'} (top {cut})",
                "val acc range": f"{min(values):.2%} to {max(values):.2%}"}

    labels = sorted((label for label in runs if label != "full"), key=lambda label: "noise" in label)
    rows = [compare(label, [runs[label][k] for k in keys], rung=min(i, len(RUNGS) - 1))
            for i, label in enumerate(labels)]
    record(f"fidelity-{'gpu' if device.type == 'cuda' else 'cpu'}", rows,
           notes=f"space {args.space}, {len(keys)} candidates trained in every run (of {args.trials}); "
                 f"full = {args.epochs} epochs × 50,000 images, seed 0 "
                 f"(val acc {min(full):.2%} to {max(full):.2%}); every training a complete one-cycle schedule")


if __name__ == "__main__":
    main()
