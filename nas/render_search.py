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
from nas.search import CostEstimate, Observer

CHEAP_SECONDS = 300  # a CPU search estimated under this needs no advice on making it cheaper
STATE_STYLE = {"complete": "green", "pruned": "yellow", "failed": "red", "rejected": "magenta", "running": "cyan"}


def leaderboard_table(rows: list[Row], title: str, show_reason: bool = False) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    tested = any(r.test_acc is not None for r in rows)  # the column appears once `nas evaluate` ran
    for name, justify in (("Rank", "right"), ("Trial", "right"), ("Val acc", "right"),
                          *([("Test acc", "right")] if tested else []), ("Params", "right"), ("Pareto", "center"),
                          ("Epochs", "right"), ("Seconds", "right"), ("Architecture", "left"), ("State", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "Architecture", overflow="fold")
    if show_reason:
        table.add_column("Reason")
    for r in rows:
        cells = [str(r.rank or ""), str(r.trial), pct(r.val_acc), *([test_cell(r)] if tested else []),
                 count(r.total_params), "★" if r.pareto else "", str(r.epochs), secs(r.seconds), r.arch,
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


def cost_note(cost: CostEstimate) -> str:
    """What a CPU search will cost; when that is more than a few minutes, the options that cut it."""
    note = (f"On the CPU this search may take about {duration(cost.seconds)}: {plural(cost.trials, 'trial')} × "
            f"{plural(cost.epochs, 'epoch')} × {cost.images:,} images at ~{cost.seconds_per_epoch:.1f} s per "
            "epoch of training (estimated from the reference net; pruning shortens it).")
    if cost.seconds > CHEAP_SECONDS:
        note += (" For a quick look, lower --trials, --epochs or --subset (e.g. --trials 5 --epochs 2 "
                 "--subset 5000), or run on a GPU.")
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
        self.trials = self.epochs = 0
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

    def _search_end(self, epochs_done: int) -> str:
        """When the search should end, from the wall time so far and the epochs done of all it plans."""
        if epochs_done <= 0:
            return "?"
        elapsed = time.monotonic() - self.start
        return finish_time(elapsed * (self.trials * self.epochs / epochs_done - 1))

    def _trials_stats(self, search_end: str) -> str:
        rejected = f"; {self.n_rejected} rejected before training" if self.n_rejected else ""
        return f"search ends ~{search_end}{rejected}"

    def started(self, settings, study, cost) -> None:
        self.trials, self.epochs = settings.trials, settings.epochs
        self.rows = [row(t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if cost is not None:
            self.console.print(cost_note(cost), style="yellow", highlight=False)
        self.trials_task = self.progress.add_task("trials", total=settings.trials, stats="")
        self.epoch_task = self.progress.add_task("epochs", total=settings.epochs, stats="")
        self._refresh()

    def trial_started(self, number, arch, total_params, epochs) -> None:
        self.trial_seconds = []
        self.progress.reset(self.epoch_task, total=epochs, description=f"trial {number}",
                            stats=f"{arch} ({total_params:,} params)")

    def epoch_done(self, number, stats) -> None:
        self.trial_seconds.append(stats.seconds)
        per_epoch = sum(self.trial_seconds) / len(self.trial_seconds)
        trial_end = finish_time(per_epoch * (self.epochs - stats.epoch))
        search_end = self._search_end(self.finished * self.epochs + stats.epoch)
        timing = f"{per_epoch:.1f} s/epoch, trial ends {trial_end}, search ends ~{search_end}"
        if self.live:
            self.progress.update(self.epoch_task, advance=1, stats=f"{epoch_stats(stats)}  {timing}")
        else:
            self.console.print(f"trial {number} epoch {stats.epoch}/{self.epochs}: {epoch_stats(stats)}; {timing}",
                               highlight=False)

    def trial_finished(self, trial) -> None:
        finished = row(trial)
        self.rows.append(finished)
        self.finished += 1
        search_end = self._search_end(self.finished * self.epochs)
        if self.live:
            self.progress.update(self.trials_task, advance=1, stats=self._trials_stats(search_end))
            self._refresh()
        else:
            self.console.print(f"trial {finished.trial} {finished.state}: val acc {pct(finished.val_acc)}, "
                               f"{count(finished.total_params)} params, {finished.arch}, {secs(finished.seconds)} s "
                               f"({self.finished}/{self.trials} trained; search ends ~{search_end})", highlight=False)

    def rejected(self, number, reason) -> None:
        self.n_rejected += 1
        if self.live:
            self.progress.update(self.trials_task, stats=self._trials_stats(self._search_end(self.finished * self.epochs)))
        else:
            self.console.print(f"trial {number} rejected before training: {reason}", highlight=False)
