"""Multi-fidelity search: which candidates train briefly, and which go on to full training.

Successive halving with asynchronous promotions (ASHA): a candidate is first trained at the
cheapest rung; whenever rung k has results for n candidates, the best n // promote_one_in(k) of
them are trained again at the next rung. The last rung, full training, is the exception: it
waits until no new candidate will come and the lower rungs have sent up their share, then takes
the best share of the rung below, so that its few costly slots go to the best of all
candidates, not of the first few. A worker never waits: it trains a due promotion if there is
one, else a new candidate. Every rung's result is an Optuna trial of its own (user attrs `rung`
and `candidate`, the number of the candidate's first trial), so each is stored, and the best
fully trained one can be exported like any trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from nas.config import (CPU_FULL_STAGE_REFS, CPU_FULL_TRAINING_REFS, PROMOTE_ONE_IN, RUNGS, Fidelity, Objective,
                        SearchSettings)
from nas.errors import NasError


@dataclass(frozen=True)
class Rung:
    """One fidelity: a complete training of `epochs` epochs on the first `images` training images."""

    epochs: int
    images: int

    @property
    def cost(self) -> int:
        """Images trained, all epochs together."""
        return self.epochs * self.images


@dataclass(frozen=True)
class Stage:
    """A rung and how many trainings a search plans at it."""

    rung: Rung
    trainings: int


def resolve_fidelity(settings: SearchSettings, on_gpu: bool) -> Fidelity:
    """AUTO is multi-fidelity on the CPU, where full training of every candidate takes hours,
    and full on a GPU (until measured otherwise there)."""
    if settings.fidelity == Fidelity.AUTO:
        return Fidelity.FULL if on_gpu or settings.objective == Objective.PARETO else Fidelity.MULTI
    if settings.fidelity == Fidelity.MULTI and settings.objective == Objective.PARETO:
        raise NasError("--fidelity multi promotes candidates by accuracy alone; use --objective accuracy, "
                       "or --fidelity full for a Pareto search")
    return settings.fidelity


def rungs(fidelity: Fidelity, epochs: int, train_images: int) -> list[Rung]:
    """The rungs a candidate may train at, cheapest first; the last is full training."""
    full = Rung(epochs, train_images)
    if fidelity == Fidelity.FULL:
        return [full]
    cheap = [Rung(min(e, epochs), min(n, train_images)) for e, n in RUNGS]
    return [r for r in cheap if r.cost < full.cost] + [full]


@dataclass(frozen=True)
class TimeLimits:
    """On a CPU, how long full training may take, projected from the speed a candidate showed at its rung."""

    full_cost: int  # images of one full training, all epochs together
    per_training: float  # seconds: a candidate whose full training would take longer does not go up
    full_stage: float  # seconds: all full trainings together

    def full_seconds(self, trial: optuna.trial.FrozenTrial) -> float:
        """The seconds of training steps `trial`'s candidate would take in full (inf: speed unknown)."""
        speed = images_per_second(trial)
        return self.full_cost / speed if speed else float("inf")


def time_limits(ladder: list[Rung], reference_seconds_per_image: float | None) -> TimeLimits | None:
    """The limits of a multi-fidelity search on a CPU that trains the reference net at this speed
    (None: on a GPU, no limits). On a CPU candidates differ up to 5× in speed, and without limits
    the slow ones would take most of the search (nas/config.py CPU_FULL_TRAINING_REFS)."""
    if reference_seconds_per_image is None or len(ladder) == 1:
        return None
    reference = ladder[-1].cost * reference_seconds_per_image  # the reference net's full training here
    return TimeLimits(ladder[-1].cost, CPU_FULL_TRAINING_REFS * reference, CPU_FULL_STAGE_REFS * reference)


def plan(trials: int, ladder: list[Rung]) -> list[Stage]:
    """Trainings at each rung when `trials` candidates go through `ladder` (at least one full)."""
    stages = [Stage(ladder[0], trials)]
    for k, rung in enumerate(ladder[1:]):
        stages.append(Stage(rung, max(1, share(stages[-1].trainings, k, len(ladder)))))
    return stages


def promote_one_in(k: int, n_rungs: int) -> float:
    """One in this many of rung k's candidates goes up, of a ladder of `n_rungs`. Counted from the
    top: the rung below full training always has the last share (PROMOTE_ONE_IN[-1]), also where a
    small run leaves out a cheap rung."""
    return PROMOTE_ONE_IN[max(0, len(PROMOTE_ONE_IN) - 1 - (n_rungs - 2 - k))]


def share(results: int, k: int, n_rungs: int) -> int:
    """How many of rung k's `results` candidates go up: the plan and the promotions count alike."""
    return int(results // promote_one_in(k, n_rungs))


def rung_of(trial: optuna.trial.FrozenTrial) -> int:
    return trial.user_attrs.get("rung", 0)


def candidate_of(trial: optuna.trial.FrozenTrial) -> int:
    return trial.user_attrs.get("candidate", trial.number)


def images_per_second(trial: optuna.trial.FrozenTrial) -> float | None:
    """How fast a finished trial trained: images per second of the training steps of its fastest
    epoch, the speed a full training keeps up. A process's first training carries one-time costs
    (in bench_fidelity the first candidate's first rung ran at 380 images/s, the same candidate's
    next rung at 4,500), so its total would judge it too slow to go up. A trial stored without its
    epochs' seconds is judged by its total."""
    attrs = trial.user_attrs
    images, epochs = attrs.get("images"), attrs.get("epochs")
    if not images or not epochs:
        return None
    if attrs.get("epoch_train_seconds"):
        return images / min(attrs["epoch_train_seconds"])
    return images * epochs / attrs["train_seconds"] if attrs.get("train_seconds") else None


def due_promotion(trials: list[optuna.trial.FrozenTrial], n_rungs: int, final: bool,
                  limits: TimeLimits | None = None) -> tuple[optuna.trial.FrozenTrial, int] | None:
    """The candidate to train at a higher rung now, as (its trial at the rung below, that rung),
    or None.

    From rung k, the best len(results) // promote_one_in(k) candidates go up (ties to fewer params),
    higher rungs first, so that the best candidates finish soonest. A candidate already taken up
    counts whatever became of it (running, failed), so none trains twice at a rung, and no rung
    sends up more than its share. `final`: no new candidates will come, so each rung with results
    sends up at least one. Until then nothing goes to full training: it costs most, so it picks
    from all of the rung below rather than from its first results (workers train new candidates
    meanwhile; none waits); and it comes after every promotion due at the lower rungs, so the last
    candidates reach the rung below it in time to be picked. `limits` (on a CPU): a candidate too
    slow to train in full within limits.per_training does not go up, and full training takes the
    best of the rung below in order, skipping any whose projection would not fit in what is left
    of limits.full_stage (the first always goes), so the stage costs about that. Where no
    candidate of a rung is fast enough, the end sends up its fastest.
    """
    done: list[list[optuna.trial.FrozenTrial]] = [[] for _ in range(n_rungs)]
    taken: list[dict[int, optuna.trial.FrozenTrial]] = [{} for _ in range(n_rungs)]  # candidate: its trial
    for t in trials:
        k = rung_of(t)
        if not 0 <= k < n_rungs:
            continue
        taken[k][candidate_of(t)] = t
        if t.state == TrialState.COMPLETE and t.values:
            done[k].append(t)
    below_full = n_rungs - 2
    for k in [*reversed(range(below_full)), below_full]:  # full training last
        if k < 0 or (k == below_full and not final):
            continue
        quota = share(len(done[k]), k, n_rungs)
        fast = [t for t in done[k] if limits is None or limits.full_seconds(t) <= limits.per_training]
        if final and not fast and done[k]:  # none fast enough: the fastest, so that one still trains in full
            fast = [min(done[k], key=limits.full_seconds)]
        ranked = sorted(fast, key=lambda t: (-t.values[0], t.user_attrs.get("total_params", 0), t.number))
        if final and ranked:
            quota = max(quota, 1)
        up = [t for t in ranked if candidate_of(t) in taken[k + 1]]
        if len(up) >= quota:
            continue  # the rung's share has gone up (as the plan counts), even if others now rank higher
        # full training on a CPU: what is left of its stage's time, counting the trainings taken up
        # by their own seconds once finished (compilation and validation included), else projected
        left = limits.full_stage - sum(taken[k + 1][candidate_of(t)].user_attrs.get("seconds") or
                                       limits.full_seconds(t) for t in up) if limits and k == below_full else None
        for t in ranked:
            if candidate_of(t) not in taken[k + 1] and (left is None or not up or limits.full_seconds(t) <= left):
                return t, k + 1
    return None
