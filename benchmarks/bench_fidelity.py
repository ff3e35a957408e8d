"""Does the cheap fidelity rank candidates as full training does? Rank agreement of the rungs.

Samples --trials candidates from the space and trains each at every rung of the CPU default
(nas/config.py RUNGS: a complete short training on the first N images). The candidates the search
could send to full training on this device (on a CPU: fast enough, nas.fidelity.time_limits;
the first --full of them) are then trained in full (20 epochs on the 50,000-image split), seed 0,
and again with seed 1, which measures the noise: how much the full ranking moves with the seed
alone. Each fidelity is a search over the same candidates (Optuna's enqueue_trial, in the same
order). Reported per rung against full training: Spearman's rank correlation, the overlap of the
top 3, and whether the best full candidate survives the rung's cut (is in its best
1/PROMOTE_ONE_IN[k]; the noise row with the last rung's cut). --also adds other cheap fidelities
to the comparison, trained on the candidates trained in full (cut as the first rung).

Hours on a CPU, so it resumes: the storage stays in --work, and a rerun trains only what is
missing (delete --work to start afresh).

    python benchmarks/bench_fidelity.py [--trials 20] [--full 12] [--device auto] [--noise-seeds 1]
        [--also 2x20000 ...]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_workers import complete_trials, spearman  # noqa: E402
from record import record  # noqa: E402

import optuna  # noqa: E402

from nas.config import RUNGS, Fidelity, SearchSettings  # noqa: E402
from nas.data import TRAIN_IMAGES  # noqa: E402
from nas.fidelity import promote_one_in, rungs, time_limits  # noqa: E402
from nas.render import plural  # noqa: E402
from nas.search import measure_cpu_speed, run_search  # noqa: E402
from nas.storage import open_study  # noqa: E402
from nas.train import resolve_device  # noqa: E402


def key(params: dict) -> str:
    return repr(sorted(params.items()))


def fidelity_label(epochs: int, images: int) -> str:
    return f"{plural(epochs, 'epoch')} × {images:,} images"


def study_name(epochs: int, images: int) -> str:
    """A fidelity's study, named as --also writes it, so that a rerun reuses what it shares."""
    return f"{epochs}x{images}"


def fidelity(text: str) -> tuple[int, int]:
    epochs, images = text.split("x")
    return int(epochs), int(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="candidates trained at the rungs")
    parser.add_argument("--full", type=int, default=12, help="of them, at most this many trained in full")
    parser.add_argument("--epochs", type=int, default=20, help="full training's epochs")
    parser.add_argument("--space", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--noise-seeds", type=int, default=1, help="full trainings with seeds 1..N, for the noise")
    parser.add_argument("--also", type=fidelity, nargs="*", default=[], metavar="EPOCHSxIMAGES",
                        help="other cheap fidelities to compare with the rungs, e.g. 2x20000")
    parser.add_argument("--work", default="results/bench-fidelity", help="storage and weights; kept to resume")
    args = parser.parse_args()
    device = resolve_device(args.device)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{work / 'fidelity.db'}"

    def trained(label: str, epochs: int, images: int | None, seed: int = 0,
                candidates: list[dict] | None = None) -> dict[str, optuna.trial.FrozenTrial]:
        """Each candidate's trial at this fidelity, by its parameters; trains only those missing
        (all of `candidates`, or new samples up to --trials when None)."""
        study = open_study(storage, label, optuna.samplers.RandomSampler(), optuna.pruners.NopPruner())
        done = {key(t.params) for t in complete_trials(storage, label)}
        waiting = {key(t.params) for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))}
        missing = args.trials - len(done) if candidates is None else sum(key(c) not in done for c in candidates)
        for params in candidates or []:
            if key(params) not in done | waiting:
                study.enqueue_trial(params)
        if missing > 0:
            run_search(SearchSettings(space=args.space, trials=missing, epochs=epochs, subset=images,
                                      device=args.device, storage=storage, study=label, pruner="none",
                                      fidelity="full", seed=seed, results_dir=str(work)))
        return {key(t.params): t for t in complete_trials(storage, label)}

    cheap = {RUNGS[0]: trained(study_name(*RUNGS[0]), *RUNGS[0])}
    candidates = [t.params for t in cheap[RUNGS[0]].values()]
    for epochs, images in RUNGS[1:]:
        cheap[(epochs, images)] = trained(study_name(epochs, images), epochs, images, candidates=candidates)
    # the candidates the search could train in full here: fast enough at the last rung
    limits = time_limits(rungs(Fidelity.MULTI, args.epochs, TRAIN_IMAGES),
                         measure_cpu_speed(device).train if device.type == "cpu" else None)
    last = cheap[RUNGS[-1]]
    promotable = [c for c in candidates if key(c) in last
                  and (limits is None or limits.full_seconds(last[key(c)]) <= limits.per_training)][:args.full]
    for epochs, images in args.also:
        cheap[(epochs, images)] = trained(study_name(epochs, images), epochs, images, candidates=promotable)
    runs = {"full": trained("full", args.epochs, None, candidates=promotable)}
    for seed in range(1, args.noise_seeds + 1):
        runs[f"full, seed {seed} (the noise)"] = trained(f"full-seed-{seed}", args.epochs, None, seed, promotable)
    runs |= {fidelity_label(e, n): trials for (e, n), trials in cheap.items()}
    keys = [k for k in runs["full"] if all(k in trials for trials in runs.values())]  # trained in every run
    full = [runs["full"][k].value for k in keys]

    def compare(label: str, values: list[float], rung: int) -> dict:
        cut = max(1, math.floor(len(values) / promote_one_in(rung, len(RUNGS) + 1)))
        top = sorted(range(len(values)), key=lambda i: -values[i])
        best_full = max(range(len(full)), key=full.__getitem__)
        top3_full = set(sorted(range(len(full)), key=lambda i: -full[i])[:3])
        return {"fidelity": label, "Spearman vs full": f"{spearman(values, full):.3f}",
                "top-3 overlap": f"{len(set(top[:3]) & top3_full)}/3",
                "best full survives the cut": f"{'yes' if best_full in top[:cut] else 'no'} (top {cut})",
                "val acc range": f"{min(values):.2%} to {max(values):.2%}"}

    labels = sorted((label for label in runs if label != "full"), key=lambda label: "noise" in label)
    # each row cut as its rung cuts: an --also fidelity as the first rung, the noise as the last
    cut_rung = {fidelity_label(e, n): RUNGS.index((e, n)) if (e, n) in RUNGS else 0 for e, n in cheap}
    rows = [compare(label, [runs[label][k].value for k in keys], cut_rung.get(label, len(RUNGS) - 1))
            for label in labels]
    by_full = sorted(keys, key=lambda k: -runs["full"][k].value)
    detail = "; ".join(f"{runs['full'][k].user_attrs['arch_string']} ({runs['full'][k].user_attrs['total_params']:,} "
                       f"params): " + ", ".join(f"{runs[label][k].value:.2%}" for label in ["full"] + labels)
                       for k in by_full)
    record(f"fidelity-{'gpu' if device.type == 'cuda' else 'cpu'}", rows,
           notes=f"space {args.space}, {len(candidates)} candidates at the rungs, {len(keys)} of them trained in "
                 f"every run (the first {args.full} the search could send to full training here); full = "
                 f"{args.epochs} epochs × {TRAIN_IMAGES:,} images, seed 0 (val acc {min(full):.2%} to "
                 f"{max(full):.2%}); every training a complete one-cycle schedule. Each candidate, best full "
                 f"first, as full, then {', '.join(labels)}: {detail}")


if __name__ == "__main__":
    main()
