"""Rich views of a search: the leaderboard table and the live view of `nas search`.

Apart from nas.render so that `nas validate` does not import optuna.
"""

from __future__ import annotations

from optuna.trial import TrialState
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from nas.render import epoch_stats, progress_bar
from nas.results import Row, count, pct, rank, row, secs, test_acc
from nas.search import Observer

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
        cells = [str(r.rank or ""), str(r.trial), pct(r.val_acc), *([test_acc(r)] if tested else []),
                 count(r.total_params), "★" if r.pareto else "", str(r.epochs), secs(r.seconds), r.arch,
                 Text(r.state, style=STATE_STYLE.get(r.state, ""))]
        table.add_row(*cells, *([r.reason] if show_reason else []))
    return table


class SearchView(Observer):
    """The live view of `nas search`: trials, the current trial's epochs, and the top 5."""

    def __init__(self, console: Console, top: int = 5):
        self.top = top
        self.rows: list[Row] = []
        self.n_rejected = 0
        self.progress = progress_bar()
        self.live = Live(console=console, refresh_per_second=4)
        self.trials_task = self.epoch_task = None

    def __enter__(self) -> "SearchView":
        self.live.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # A search stopped by an error leaves only the error's line; a finished or interrupted one, the view
        self.live.transient = exc_type is not None and not issubclass(exc_type, KeyboardInterrupt)
        self.live.stop()

    def _refresh(self) -> None:
        board = leaderboard_table(rank(self.rows)[:self.top], f"Top {self.top}")
        self.live.update(Group(self.progress, board))

    def started(self, settings, study) -> None:
        self.rows = [row(t) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        self.trials_task = self.progress.add_task("trials", total=settings.trials, stats="")
        self.epoch_task = self.progress.add_task("epochs", total=settings.epochs, stats="")
        self._refresh()

    def trial_started(self, number, arch, total_params, epochs) -> None:
        self.progress.reset(self.epoch_task, total=epochs, description=f"trial {number}",
                            stats=f"{arch} ({total_params:,} params)")

    def epoch_done(self, number, stats) -> None:
        self.progress.update(self.epoch_task, advance=1, stats=epoch_stats(stats))

    def trial_finished(self, trial) -> None:
        self.rows.append(row(trial))
        self.progress.advance(self.trials_task)
        self._refresh()

    def rejected(self, number, reason) -> None:
        self.n_rejected += 1
        self.progress.update(self.trials_task, stats=f"{self.n_rejected} rejected before training")
