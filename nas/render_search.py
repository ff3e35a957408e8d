"""Rich views of a search: the leaderboard table and the live view of `nas search`.

Apart from nas.render so that `nas validate` does not import optuna.
"""

from __future__ import annotations

import time

from optuna.trial import TrialState
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from nas.render import epoch_stats, plural, progress_bar
from nas.leaderboard import Row, mark_pareto, rank, row
from nas.render import count, pct, secs, test_cell
from nas.fidelity import Rung, Stage
from nas.config import SearchSettings
from nas.data import TRAIN_IMAGES
from nas.search import CostEstimate, Observer

CHEAP_SECONDS = 300  # a CPU search estimated under this needs no advice on making it cheaper
# the settings of a quick look: 80 s on an idle 2-core AMD EPYC (README's quick start)
QUICK_LOOK = {"--trials": 3, "--epochs": 2, "--subset": 10_000}
STATE_STYLE = {"complete": "green", "pruned": "yellow", "failed": "red", "rejected": "magenta", "running": "cyan"}


def leaderboard_table(rows: list[Row], title: str, show_reason: bool = False) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    tested = any(r.test_acc is not None for r in rows)  # the column appears once `nas evaluate` ran
    for name, justify in (("Rank", "right"), ("Trial", "right"), ("Val acc", "right"),
                          *([("Test acc", "right")] if tested else []), ("Params", "right"), ("Pareto", "center"),
                          ("Epochs", "right"), ("Images", "right"), ("Seconds", "right"), ("Architecture", "left"), ("State", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "Architecture", overflow="fold")
    if show_reason:
        table.add_column("Reason")
    for r in rows:
        cells = [str(r.rank or ""), str(r.trial), pct(r.val_acc), *([test_cell(r)] if tested else []),
                 count(r.total_params), "★" if r.pareto else "", str(r.epochs), count(r.images), secs(r.seconds), r.arch,
                 Text(r.state, style=STATE_STYLE.get(r.state, ""))]
        table.add_row(*cells, *([r.reason] if show_reason else []))
    return table


def finish_time(seconds_from_now: float) -> str:
    """A clock time that far ahead: 14:03:10, or with the date when it is not today."""
    when = time.localtime(time.time() + seconds_from_now)
    today = time.localtime().tm_yday == when.tm_yday
    return time.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M", when)


def duration(seconds: float) -> str:
    """E.g. "40 s", "12 min", "6.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def plan_text(stages: list[Stage]) -> str:
    """E.g. "50 trials × 20 epochs × 50,000 images", or the rungs: "50 candidates × 2 epochs ×
    8,000 images, the best 25 × 4 epochs × 20,000, the best 4 × 20 epochs × 50,000"."""
    if len(stages) == 1:
        s = stages[0]
        return f"{plural(s.trainings, 'trial')} × {plural(s.rung.epochs, 'epoch')} × {s.rung.images:,} images"
    parts = [f"{plural(stages[0].trainings, 'candidate')} × {plural(stages[0].rung.epochs, 'epoch')} × "
             f"{stages[0].rung.images:,} images"]
    parts += [f"the best {s.trainings} × {plural(s.rung.epochs, 'epoch')} × {s.rung.images:,}" for s in stages[1:]]
    return ", ".join(parts)


def cost_note(cost: CostEstimate, settings: SearchSettings) -> str:
    """What a CPU search will cost; when that is more than a few minutes, the options that cut it."""
    limits = cost.limits
    how = ("Multi-fidelity search (--fidelity full trains every candidate fully; a candidate goes up a "
           f"rung only if fast enough to train in full in {duration(limits.per_training)}, and full training "
           f"takes the best that fit in {duration(limits.full_stage)}): " if limits else "")
    speed = "measured on this CPU" if cost.measured else "as recorded on another CPU"
    note = (f"{how}on the CPU this search may take about {duration(cost.seconds)}: {plan_text(cost.stages)}, at "
            f"~{cost.seconds_per_epoch:.1f} s per epoch of {cost.stages[-1].rung.images:,} images (the reference net's "
            f"speed, {speed}; "
            "pruning shortens it).")
    note = note[0].upper() + note[1:]
    if cost.seconds > CHEAP_SECONDS:
        now = {"--trials": settings.trials, "--epochs": settings.epochs, "--subset": settings.subset or TRAIN_IMAGES}
        lower = " ".join(f"{option} {value}" for option, value in QUICK_LOOK.items() if now[option] > value)
        note += f" For a quick look, lower --trials, --epochs or --subset{f' (e.g. {lower})' if lower else ''}, or " \
                "run on a GPU."
    return note


class SearchView(Observer):
    """What `nas search` shows while it runs.

    live=True (a terminal): progress bars for the trials and the current trial's epochs, with
    seconds per epoch and finish times, and the running top 5; the view is cleared at the end, as
    the final leaderboard follows. live=False (a pipe, a file, CI): one plain line per finished
    epoch, trial or rejected candidate, which logs keep.
    """

    def __init__(self, console: Console, live: bool, top: int = 5):
        self.console, self.top = console, top
        self.rows: list[Row] = []
        self.n_rejected = self.finished = 0  # in this run
        self.trainings = 0  # planned, at every rung
        # the work planned and done, in each rung's estimated seconds on a CPU, else in images trained
        self.planned_work = self.done_work = 0.0
        self.epoch_work: dict[Rung, float] = {}  # the work of one epoch at each rung
        self.running: dict[int, Rung] = {}  # trials under way, and their rungs
        self.multi = False
        self.trial_seconds: list[float] = []  # the current trial's epochs
        self.start = time.monotonic()
        self.progress = progress_bar()
        self.live = Live(console=console, refresh_per_second=4, transient=True) if live else None
        self.trials_task = self.epoch_task = None

    def __enter__(self) -> "SearchView":
        if self.live:
            self.live.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self.live:
            # A search stopped by an error leaves only the error's line; a finished or interrupted one, the view
            self.live.transient = exc_type is not None and not issubclass(exc_type, KeyboardInterrupt)
            self.live.stop()

    def _refresh(self) -> None:
        if self.live:
            board = leaderboard_table(mark_pareto(rank(self.rows))[:self.top], f"Top {self.top}")
            self.live.update(Group(self.progress, board))

    def _search_end(self) -> str:
        """When the search should end, from the wall time so far and the share of its images trained."""
        if self.done_work <= 0:
            return "?"
        elapsed = time.monotonic() - self.start
        return finish_time(elapsed * (self.planned_work / self.done_work - 1))

    def _trials_stats(self) -> str:
        rejected = f"; {self.n_rejected} rejected before training" if self.n_rejected else ""
        return f"search ends ~{self._search_end()}{rejected}"

    def started(self, settings, study, stages, cost) -> None:
        self.trainings = sum(s.trainings for s in stages)
        # a CPU search's cheap rungs cost more per image (validation, checks) than full training
        # does: weighed by images alone, their first results would put the end hours too late
        work = cost.stage_seconds if cost is not None else [s.trainings * s.rung.cost for s in stages]
        self.epoch_work = {s.rung: w / s.trainings / s.rung.epochs for s, w in zip(stages, work)}
        self.planned_work = sum(work)
        self.multi = len(stages) > 1
        self.rows = [row(t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if cost is not None:
            self.console.print(cost_note(cost, settings), style="yellow", highlight=False)
        elif self.multi:
            self.console.print(f"Multi-fidelity search: {plan_text(stages)}.", style="yellow", highlight=False)
        self.trials_task = self.progress.add_task("trainings" if self.multi else "trials", total=self.trainings,
                                                  stats="")
        self.epoch_task = self.progress.add_task("epochs", total=stages[0].rung.epochs, stats="")
        self._refresh()

    def trial_started(self, number, arch, total_params, rung) -> None:
        self.trial_seconds = []
        self.running[number] = rung
        fidelity = f", {rung.epochs} × {rung.images:,} images" if self.multi else ""
        self.progress.reset(self.epoch_task, total=rung.epochs, description=f"trial {number}",
                            stats=f"{arch} ({total_params:,} params{fidelity})")

    def epoch_done(self, number, stats) -> None:
        rung = self.running[number]
        self.done_work += self.epoch_work.get(rung, 0.0)
        self.trial_seconds.append(stats.seconds)
        per_epoch = sum(self.trial_seconds) / len(self.trial_seconds)
        trial_end = finish_time(per_epoch * (rung.epochs - stats.epoch))
        timing = f"{per_epoch:.1f} s/epoch, trial ends {trial_end}, search ends ~{self._search_end()}"
        if self.live:
            self.progress.update(self.epoch_task, advance=1, stats=f"{epoch_stats(stats)}  {timing}")
        else:
            self.console.print(f"trial {number} epoch {stats.epoch}/{rung.epochs}: {epoch_stats(stats)}; {timing}",
                               highlight=False)

    def trial_finished(self, trial) -> None:
        finished = row(trial)
        rung = self.running.pop(trial.number, None)
        if rung is not None:  # a trial stopped early: the rest of its images are no longer planned
            self.planned_work -= self.epoch_work.get(rung, 0.0) * (rung.epochs - finished.epochs)
        self.rows.append(finished)
        self.finished += 1
        if self.live:
            self.progress.update(self.trials_task, advance=1, stats=self._trials_stats())
            self._refresh()
        else:
            fidelity = f" ({finished.epochs} × {finished.images:,} images)" if self.multi and finished.images else ""
            self.console.print(f"trial {finished.trial}{fidelity} {finished.state}: val acc {pct(finished.val_acc)}, "
                               f"{count(finished.total_params)} params, {finished.arch}, {secs(finished.seconds)} s "
                               f"({self.finished}/{self.trainings} trained; search ends ~{self._search_end()})",
                               highlight=False)

    def rejected(self, number, reason) -> None:
        self.n_rejected += 1
        if self.live:
            self.progress.update(self.trials_task, stats=self._trials_stats())
        else:
            self.console.print(f"trial {number} rejected before training: {reason}", highlight=False)
