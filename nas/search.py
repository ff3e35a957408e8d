"""The search: candidates from a space, checked by the validator, trained in Optuna trials.

Each candidate goes through the same `check()` as `nas validate` before any training. Rejected
candidates are recorded (state FAIL, user attr status "rejected" and the reason) and do not
count towards the number of trials, which counts trained trials. Survivors are trained with
`nas.train.train`, reporting validation accuracy after every epoch so the pruner can stop them.
Everything a trial stores is plain JSON, so optuna-dashboard can read the study.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import optuna
import torch

from nas.arch import act, arch_string, bn, build, conv, gap, head, normalized, pool
from nas.config import Fidelity, Objective, Pruner, Recipe, Sampler, SearchSettings
from nas.data import TRAIN_IMAGES, VAL_SIZE, Split, load_train_val
from nas.errors import NasError, first_line
from nas.fidelity import (Rung, Stage, TimeLimits, candidate_of, due_promotion, plan, resolve_fidelity, rung_of,
                          rungs, time_limits)
from nas.rules import Rules
from nas.validator import check
from nas.space import load_space
from nas.storage import beating, check_study_name, open_study
from nas.train import (EpochStats, build_seeded, TrainingDiverged, precision, resolve_device, save_run, train,
                       writable_dir)

# The reference net (tests/models/seed_net.py, 14,770 params) as a description: a typical
# default-space candidate, in whose speed on this machine a CPU search is costed and timed.
REFERENCE_NET = [conv(10), bn(), act(), conv(16), bn(), act(), conv(20), bn(), act(), pool(), conv(10, kernel=1),
                 bn(), act(), conv(16), bn(), act(), conv(16), bn(), act(), conv(20), bn(), act(), conv(16), bn(),
                 act(), gap(), head()]
# Its seconds per training epoch on 50,000 images, batch 128, on 2 CPU cores, eager, by the
# trainer's precision, measured by benchmarks/bench_train.py on 2026-11-24 (float32 in the record
# before bf16, in git history; bf16 in an unrecorded run): the speed assumed for a search too small
# to be worth measuring this machine for. 2-core machines differ: one took 57 s in float32.
CPU_EPOCH_SECONDS = {"bf16": 17.81, "float32": 23.41}
CPU_EPOCH_IMAGES, CPU_EPOCH_CORES = 50_000, 2
CPU_VAL_SECONDS = 2.4  # validating on the 10,000 images once (nas/train.py, EVAL_BATCH), 2 cores
# A CPU search estimated longer than this at the recorded speed measures this machine's speed first
# (5-10 s, and it warms up what the first trial would): 2-core machines seen train 1-2.5× slower than
# the record, so a search of 1-5 min was estimated at half its time or less (56 s for one of 137 s).
MEASURE_ABOVE_SECONDS = 30
CHECK_SECONDS = 3.0  # the validator's checks of a candidate before it trains, about
MEDIAN_WARMUP_EPOCHS = 3  # epochs before the median pruner may stop a trial: the first epochs rank trials poorly


@dataclass
class SearchOutcome:
    study: str
    trained: int  # candidates trained in this run: complete, pruned or failed in training
    rejected: int  # candidates rejected before training in this run
    promoted: int  # trainings of candidates at a higher rung (multi-fidelity), each a trial of its own
    seconds: float
    stop_reason: str  # "done", "timeout"


@dataclass(frozen=True)
class CpuSpeed:
    """How fast a CPU trains and validates the reference net, eager, in seconds per image."""

    train: float
    val: float
    measured: bool  # on this machine; else as recorded on another (CPU_EPOCH_SECONDS)


def recorded_cpu_speed(cores: int, dtype: str) -> CpuSpeed:
    """The recorded speed, scaled to `cores` training threads, in `dtype` ("bf16" or "float32", as
    nas.train.precision names it)."""
    slower = CPU_EPOCH_CORES / max(1, cores)
    return CpuSpeed(CPU_EPOCH_SECONDS[dtype] / CPU_EPOCH_IMAGES * slower, CPU_VAL_SECONDS / VAL_SIZE * slower, False)


def measure_cpu_speed(device: torch.device) -> CpuSpeed:
    """The reference net's speed on this CPU: two epochs on 1,280 random images (the speed does
    not depend on what they show), timed on the second, the first carrying one-time costs."""
    generator = torch.Generator().manual_seed(0)
    data = Split(torch.randint(0, 256, (1_280, 28, 28), dtype=torch.uint8, generator=generator),
                 torch.randint(0, 10, (1_280,), generator=generator))
    result = train(build_seeded(lambda: build(normalized(REFERENCE_NET)), 0), data, data, Recipe(epochs=2),
                   device=device, compile=False, val_epochs=1)
    last = result.history[-1]
    return CpuSpeed(last.train_seconds / len(data), (last.seconds - last.train_seconds) / len(data), True)


def cpu_speed(settings: SearchSettings, device: torch.device) -> CpuSpeed:
    """The speed to cost and time a CPU search by: measured here, unless the search is so small
    (as recorded speeds cost it) that the few seconds of measuring would weigh."""
    recorded = recorded_cpu_speed(torch.get_num_threads(), precision(device))
    return measure_cpu_speed(device) if cpu_cost(settings, recorded).seconds > MEASURE_ABOVE_SECONDS else recorded


@dataclass
class CostEstimate:
    """What a search will take on the CPU, from the reference net's speed there."""

    seconds: float  # every planned training run to its end (pruning only shortens it)
    stage_seconds: list[float]  # of each stage's trainings together
    seconds_per_epoch: float  # of the reference net on the training images (--subset, else all 50,000)
    stages: list[Stage]  # the trainings planned at each rung (one stage at full fidelity)
    limits: TimeLimits | None  # on the time of full trainings (multi-fidelity)
    measured: bool  # the speed was measured on this machine


def cpu_cost(settings: SearchSettings, speed: CpuSpeed) -> CostEstimate:
    """The estimate for `settings` on a CPU that trains the reference net at `speed`."""
    per_image = speed.train
    per_val = speed.val * (settings.val_subset or VAL_SIZE)
    ladder = search_rungs(settings, on_gpu=False)
    stages = plan(settings.trials, ladder)
    limits = time_limits(ladder, per_image)
    # a candidate that goes up is at least as fast as the limit, also where the reference net would not be
    per_promoted_image = per_image if limits is None else min(per_image, limits.per_training / limits.full_cost)
    validations = [1] * (len(stages) - 1) + [stages[-1].rung.epochs]  # a cheap rung validates its last epoch
    seconds = [s.trainings * (s.rung.cost * (per_promoted_image if k else per_image) + n * per_val + CHECK_SECONDS)
               for k, (s, n) in enumerate(zip(stages, validations))]
    if limits is not None:  # full training stops taking candidates when its stage's time is spent
        seconds[-1] = min(seconds[-1], limits.full_stage)
    return CostEstimate(sum(seconds), seconds, per_image * (settings.subset or CPU_EPOCH_IMAGES), stages, limits,
                        speed.measured)


def search_rungs(settings: SearchSettings, on_gpu: bool) -> list[Rung]:
    """The rungs of this search on this kind of device (one, full training, unless multi-fidelity)."""
    return rungs(resolve_fidelity(settings, on_gpu), settings.epochs, settings.subset or TRAIN_IMAGES)


class Observer:
    """Hooks for a live view. Every method is optional; the defaults do nothing."""

    def started(self, settings: SearchSettings, study: optuna.Study, stages: list[Stage],
                cost: CostEstimate | None) -> None:
        """Before the first trial: the trainings planned at each rung, and on a CPU what they may cost."""

    def trial_started(self, number: int, arch: str, total_params: int, rung: Rung) -> None: ...

    def epoch_done(self, number: int, stats: EpochStats) -> None: ...

    def trial_finished(self, trial: optuna.trial.FrozenTrial) -> None: ...

    def rejected(self, number: int, reason: str) -> None: ...


SAMPLERS = {Sampler.TPE: optuna.samplers.TPESampler,  # multi-objective TPE for pareto (Optuna 5's default)
            Sampler.RANDOM: optuna.samplers.RandomSampler, Sampler.NSGA2: optuna.samplers.NSGAIISampler}


def _sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    return SAMPLERS[settings.sampler](seed=settings.seed)


def trial_sampler_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial `number` of a search run with --seed `seed`.

    Seeded per trial number, not per process: a resumed run's trial 3 draws from another stream
    than trial 0 did, instead of proposing it again. The storage hands out trial numbers, so
    workers on one machine or many draw distinct streams without picking seeds, and the same
    command on an empty study draws the same trials again.
    """
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


DIRECTIONS = {Objective.ACCURACY: ["maximize"], Objective.PARETO: ["maximize", "minimize"]}  # val acc[, params]


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.objective == Objective.PARETO or settings.pruner == Pruner.NONE \
            or settings.fidelity == Fidelity.MULTI:  # Optuna prunes one objective only; rungs need no pruner
        return optuna.pruners.NopPruner()
    if settings.pruner == Pruner.MEDIAN:
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=MEDIAN_WARMUP_EPOCHS)
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=settings.epochs)


def rejection_reason(report, min_receptive_field: int) -> str | None:
    """Why a candidate may not be trained, or None. One line, e.g. "total params 16,230 ≥ 15,000"."""
    if not report.ok:
        return "; ".join(f"{v.rule}: {v.message.split(';')[0]}" for v in report.violations)
    if report.receptive_field < min_receptive_field:
        return f"receptive field {report.receptive_field} px < {min_receptive_field} px at the head"
    return None


@dataclass
class SpaceSample:
    """Candidates drawn from a space, and why each would be rejected before training (None: it trains)."""

    space: str
    archs: list[list[dict]]
    reasons: list[str | None]
    total_params: list[int]

    @property
    def rejected_share(self) -> float:
        return sum(reason is not None for reason in self.reasons) / len(self.reasons)


def sample_space(name: str, count: int = 200, seed: int = 0, rules: Rules = Rules()) -> SpaceSample:
    """`count` candidates of a space from a seeded random sampler (an in-memory study), each built
    and judged as the search judges it before training; none trained.

    check() runs at batch 3 only: its second batch catches models that branch on the batch size,
    which a model built from a description cannot do.
    """
    space = load_space(name)
    settings = SearchSettings(space=name, seed=seed, rules=rules)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    sample = SpaceSample(space.name, [], [], [])
    for _ in range(count):
        arch, _, model = _candidate(space, study.ask(), settings)
        report = check(model, rules, batch_sizes=(3,))
        sample.archs.append(arch)
        sample.reasons.append(rejection_reason(report, space.min_receptive_field))
        sample.total_params.append(report.total_params)
    return sample


class Budget:
    """Trial slots shared by every worker, so exactly `trials` trials are trained in all.

    A worker claims a slot before it samples a candidate and gives it back when the candidate
    is rejected. Backed by multiprocessing values, so it works within one process and across many.
    """

    def __init__(self, trials: int, max_rejected: int, timeout: float | None, ctx):
        self.lock = ctx.RLock()  # held by a worker choosing its next job, which may claim a slot
        self.trials, self.max_rejected = trials, max_rejected
        self.deadline = None if timeout is None else time.time() + timeout
        self.claimed, self.trained, self.rejected = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
        self.promoted = ctx.Value("i", 0)  # trainings of candidates at a higher rung (not counted as trials)

    def claim(self) -> bool:
        """Take a slot; False when every slot is taken or the timeout has passed."""
        with self.lock:
            if self.claimed.value >= self.trials or self.timed_out:
                return False
            if self.rejected.value >= self.max_rejected:
                raise NasError(f"stopped after {self.rejected.value} rejected candidates "
                               f"({self.max_rejected // self.trials}× --trials) and {self.trained.value} "
                               "trained: the space proposes models that break the rules; fix the space or "
                               "loosen --max-params")
            self.claimed.value += 1
            return True

    def done(self, trained: bool, promotion: bool = False) -> None:
        with self.lock:
            if promotion:
                self.promoted.value += 1
            elif trained:
                self.trained.value += 1
            else:  # rejected: the slot goes back
                self.rejected.value += 1
                self.claimed.value -= 1

    @property
    def spent(self) -> bool:
        """No new candidate will be claimed."""
        return self.claimed.value >= self.trials or self.timed_out

    @property
    def timed_out(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline


def default_workers(device: torch.device) -> int:
    """Trials at once on one device: 1 on the CPU (training already uses every core).

    On a GPU a tiny net leaves the device mostly idle, so several processes share it: plain
    training loops in 8 processes ran 4.2× the throughput of one on an H100. 4 is unmeasured
    with this trainer (benchmarks/bench_workers.py measures it).
    """
    return 4 if device.type == "cuda" else 1


def run_search(settings: SearchSettings, observer: Observer | None = None) -> SearchOutcome:
    """Add `settings.trials` trained trials to the study (created, or resumed if it exists).

    With settings.workers > 1, that many processes run trials at once against the same storage.
    Ctrl-C marks the running trials failed and re-raises; finished trials are already stored.
    """
    observer = observer or Observer()
    settings.rules.check_epochs(settings.epochs)
    if settings.trials < 1:
        raise NasError(f"--trials {settings.trials} is not a number of trials; use 1 or more")
    if settings.timeout is not None and not settings.timeout >= 0:  # NaN too
        raise NasError(f"--timeout {settings.timeout} is not a number of seconds; use 0 or more")
    load_space(settings.space)  # a bad --space fails here, once, not in every worker
    device = resolve_device(settings.device)
    settings = replace(settings, fidelity=resolve_fidelity(settings, on_gpu=device.type == "cuda"))
    workers = settings.workers or default_workers(device)
    writable_dir(Path(settings.results_dir) / check_study_name(settings.study), "--results-dir")
    load_train_val(settings.data_dir, settings.subset, settings.val_subset)  # no data: no study created either
    study = open_study(settings.storage, settings.study, _sampler(settings), _pruner(settings),
                       DIRECTIONS[settings.objective], settings.heartbeat)
    study.set_user_attr("objective", settings.objective)
    speed = cpu_speed(settings, device) if device.type == "cpu" else None
    cost = cpu_cost(settings, speed) if speed is not None else None
    # each of several CPU workers trains on its share of the cores, so that much slower
    reference_speed = speed.train * workers if speed is not None else None
    stages = plan(settings.trials, search_rungs(settings, on_gpu=device.type == "cuda"))
    observer.started(settings, study, stages, cost)
    start = time.monotonic()
    ctx = multiprocessing.get_context("spawn")  # no fork: torch and CUDA state do not survive it
    budget = Budget(settings.trials, settings.max_rejections_per_trial * settings.trials, settings.timeout, ctx)
    if workers == 1:
        search_worker(settings, budget, reference_speed, observer)
    else:
        _run_workers(settings, workers, budget, reference_speed, observer, ctx)
    return SearchOutcome(settings.study, budget.trained.value, budget.rejected.value, budget.promoted.value,
                         time.monotonic() - start,
                         "timeout" if budget.timed_out and budget.trained.value < settings.trials else "done")


class _Relay(Observer):
    """A worker process's observer: it sends each event to the main process, whose live view
    receives it as it would from a worker in its own process (one path for both)."""

    def __init__(self, events):
        self.events = events

    def trial_started(self, *args) -> None:
        self.events.put(("trial_started", args))

    def epoch_done(self, *args) -> None:
        self.events.put(("epoch_done", args))

    def trial_finished(self, *args) -> None:
        self.events.put(("trial_finished", args))

    def rejected(self, *args) -> None:
        self.events.put(("rejected", args))


def _run_workers(settings, workers, budget, reference_speed, observer, ctx) -> None:
    """Start the worker processes and pass their events to `observer` until they finish."""
    errors, events = ctx.Queue(), ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // workers)
    procs = [ctx.Process(target=_worker_main, args=(settings, budget, reference_speed, threads, errors, events), daemon=True)
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        while any(proc.is_alive() for proc in procs) or not events.empty():
            try:
                name, args = events.get(timeout=0.5)
            except queue.Empty:
                continue
            getattr(observer, name)(*args)
    except KeyboardInterrupt:
        for proc in procs:  # a terminal sends SIGINT to every process; a lone signal to us is passed on
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGINT)
        for proc in procs:
            proc.join(timeout=60)
        raise
    for proc in procs:
        proc.join()
    if not errors.empty():
        raise NasError(errors.get())
    failed = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if failed:
        raise NasError(f"{len(failed)} worker process(es) crashed (exit {failed[0]}); rerun with --workers 1 "
                       "--debug to see why")


def _worker_main(settings: SearchSettings, budget: Budget, reference_speed: float | None, threads: int, errors,
                 events) -> None:
    torch.set_num_threads(threads)
    try:
        search_worker(settings, budget, reference_speed, _Relay(events))
    except KeyboardInterrupt:
        pass  # the running trial is already marked failed
    except NasError as exc:
        errors.put(str(exc))


def search_worker(settings: SearchSettings, budget: Budget, reference_speed: float | None = None,
                  observer: Observer | None = None) -> None:
    """One worker: claim a slot, sample, check, train; until the budget is spent.

    Ask-and-tell rather than study.optimize(): a candidate rejected before training must not
    count as a trial, and the shared Budget keeps the number of trained trials exact across
    processes, which optimize(n_trials=...) per process cannot.

    The sampler is seeded per trial (trial_sampler_seed), so no two trials share a random stream;
    every trial still trains with settings.seed, so results compare. `reference_speed`: on a CPU,
    the seconds per image this worker trains the reference net in, which sets the time limits
    of a multi-fidelity search (nas.fidelity.time_limits); None on a GPU.
    """
    observer = observer or Observer()
    space = load_space(settings.space)
    device = resolve_device(settings.device)
    train_data, val_data = load_train_val(settings.data_dir, settings.subset, settings.val_subset)
    study = open_study(settings.storage, settings.study, _sampler(settings), _pruner(settings),
                       DIRECTIONS[settings.objective], settings.heartbeat)
    ladder = rungs(settings.fidelity, settings.epochs, len(train_data))
    limits = time_limits(ladder, reference_speed)
    while (trial := _next_trial(study, budget, len(ladder), limits)) is not None:
        # samplers draw lazily, at the space's first suggest: a sampler set now draws this trial
        study.sampler = _sampler(replace(settings, seed=trial_sampler_seed(settings.seed, trial.number)))
        promotion = rung_of(trial) > 0
        try:
            with beating(study, trial):
                finished = _run_trial(study, trial, space, settings, device, train_data, val_data, ladder, observer)
        except BaseException as exc:  # Ctrl-C or a crash: the trial is not told yet; mark it failed, stop
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("reason", "interrupted" if isinstance(exc, KeyboardInterrupt)
                                else f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            raise
        budget.done(trained=finished is not None, promotion=promotion)
        if finished is not None:
            observer.trial_finished(finished)


def _next_trial(study: optuna.Study, budget: Budget, n_rungs: int, limits: TimeLimits | None) -> optuna.Trial | None:
    """The next trial to run: a due promotion to a higher rung, else a new candidate while the
    budget has slots; None when there is neither, or the timeout has passed.

    Decided under the budget's lock, so two workers of a run never take up the same candidate.
    `limits`: on a CPU, how long full trainings may take (nas.fidelity.due_promotion).
    A promotion is enqueued with the candidate's parameters and user attrs `rung` and `candidate`;
    study.ask() takes waiting trials first (so also a failed trial queued again for a retry).
    """
    with budget.lock:
        if budget.timed_out:
            return None
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, and queued again
        # full fidelity has no rungs to go up: no need to read every trial from the storage
        due = due_promotion(study.get_trials(deepcopy=False), n_rungs, budget.spent, limits) \
            if n_rungs > 1 else None
        if due is not None:
            below, rung = due
            study.enqueue_trial(below.params, user_attrs={"rung": rung, "candidate": candidate_of(below)})
        elif not budget.claim():
            return None
        return study.ask()


def _candidate(space, trial, settings: SearchSettings) -> tuple[list[dict], Recipe, torch.nn.Module]:
    """The space's candidate: its description (normalized), recipe and built model.

    A suggest() that raises or returns what cannot be built is a broken space, not a bad
    candidate: a NasError naming the space stops the search (the caller marks the trial failed).
    """
    def broken(what: str, exc: Exception) -> NasError:
        detail = first_line(exc)
        detail = detail if isinstance(exc, NasError) else f"{type(exc).__name__}: {detail}"
        return NasError(f"search space {space.name!r} ({space.path}) is broken: suggest() {what} ({detail}); "
                        "fix the space")

    try:
        candidate = space.suggest(trial, settings.rules)
    except Exception as exc:  # whatever a user's code raises
        raise broken("raised", exc) from exc
    try:
        if not isinstance(candidate, dict) or not isinstance(candidate.get("recipe", {}), dict):
            raise NasError(f"a {type(candidate).__name__}, not {{'arch': [...], 'recipe': {{...}}}}")
        arch = normalized(candidate.get("arch"))
        recipe = Recipe(epochs=settings.epochs, seed=settings.seed, **candidate.get("recipe", {}))
        return arch, recipe, build_seeded(lambda: build(arch), settings.seed)  # every candidate: the same seed
    except Exception as exc:  # an unknown recipe key is a TypeError, a conv torch refuses a ValueError
        raise broken("returned a candidate that cannot be used", exc) from exc


@dataclass
class _Outcome:
    """How a trial ended, recorded once: Optuna's state, our status, and the values or the reason."""

    state: optuna.trial.TrialState
    status: str  # "complete", "pruned", "failed" or "rejected"
    values: list[float] | None = None
    reason: str = ""


def _run_trial(study, trial, space, settings, device, train_data, val_data, ladder,
               observer) -> optuna.trial.FrozenTrial | None:
    """Check one candidate, train it, and tell the study once. None when it was rejected before training.

    An exception from here means the trial is still open (the caller marks it failed).
    """
    outcome = _check_and_train(trial, space, settings, device, train_data, val_data, ladder, observer)
    trial.set_user_attr("status", outcome.status)
    if outcome.reason:
        trial.set_user_attr("reason", outcome.reason)
    finished = study.tell(trial, outcome.values, state=outcome.state)
    if outcome.status == "rejected":
        observer.rejected(trial.number, outcome.reason)
        return None
    return finished


def _check_and_train(trial, space, settings, device, train_data, val_data, ladder, observer) -> _Outcome:
    rules = settings.rules
    rung_index = min(rung_of(trial), len(ladder) - 1)
    rung = ladder[rung_index]
    train_data = train_data.head(rung.images)
    arch, recipe, model = _candidate(space, trial, settings)
    arch_str = arch_string(arch)
    # a quick run on a small --subset: a sampled batch larger than the data is the whole data
    recipe = replace(recipe, epochs=rung.epochs, batch_size=min(recipe.batch_size, len(train_data)))
    for key, value in {"space": space.name, "arch": arch, "arch_string": arch_str,
                       "recipe": asdict(recipe), "seed": settings.seed, "device": str(device),
                       "rung": rung_index, "candidate": candidate_of(trial), "images": rung.images,
                       "full": rung_index == len(ladder) - 1}.items():
        trial.set_user_attr(key, value)
    try:
        report = check(model, rules)
    except NasError as exc:  # e.g. a forward that raises: not a model we can judge
        return _Outcome(optuna.trial.TrialState.FAIL, "rejected", reason=str(exc))
    trial.set_user_attr("total_params", report.total_params)
    trial.set_user_attr("trainable_params", report.trainable_params)
    reason = rejection_reason(report, space.min_receptive_field)
    if reason is not None:
        return _Outcome(optuna.trial.TrialState.FAIL, "rejected", reason=reason)

    observer.trial_started(trial.number, arch_str, report.total_params, rung)
    history: list[float] = []
    epoch_train_seconds: list[float] = []
    trial_start = time.monotonic()

    def on_epoch(stats: EpochStats) -> None:
        history.append(stats.val_acc)
        epoch_train_seconds.append(round(stats.train_seconds, 3))
        observer.epoch_done(trial.number, stats)
        # intermediate values and pruning: single objective only, and epochs that were validated
        if settings.objective == Objective.ACCURACY and stats.val_acc is not None:
            trial.report(stats.val_acc, stats.epoch)  # the one storage write per epoch
            if trial.should_prune():
                raise optuna.TrialPruned()

    cheap = rung_index < len(ladder) - 1  # a cheap rung is judged by its last epoch (nas/config.py RUNGS)
    try:
        result = train(model, train_data, val_data, recipe, rules, device, on_epoch, val_epochs=1 if cheap else None)
    except optuna.TrialPruned:
        return _Outcome(optuna.trial.TrialState.PRUNED, "pruned")
    except TrainingDiverged as exc:
        return _Outcome(optuna.trial.TrialState.FAIL, "failed", reason=str(exc))
    finally:  # once, however training ends, and before the tell: workers share the storage's lock
        for key, value in {"val_acc_history": history, "epochs": len(history),
                           "seconds": round(time.monotonic() - trial_start, 3),
                           "train_seconds": round(sum(epoch_train_seconds), 3),
                           "epoch_train_seconds": epoch_train_seconds}.items():
            trial.set_user_attr(key, value)
    out = Path(settings.results_dir) / settings.study / f"trial_{trial.number}"
    save_run(out, model, result, extra={"trial": trial.number, "arch": arch})
    trial.set_user_attr("weights", str(out / "weights.pt"))
    values = [result.best_val_acc] + ([report.total_params] if settings.objective == Objective.PARETO else [])
    return _Outcome(optuna.trial.TrialState.COMPLETE, "complete", values=values)
