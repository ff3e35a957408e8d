"""Rendering: rich views of library results, and leaderboard rows as JSON, CSV or markdown.
Pure functions: data in, renderable or text out."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from dataclasses import asdict, fields
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from nas.rules import Report, Rules

if TYPE_CHECKING:
    from nas.leaderboard import Row


def plural(n: int, word: str) -> str:
    """E.g. "1 epoch", "2 epochs"."""
    return f"{n:,} {word}{'s' * (n != 1)}"


def _shape(shape: tuple[int, ...] | None) -> str:
    return "not called" if shape is None else "×".join(map(str, shape)) or "scalar"


def _rf(rf: int | str | None) -> str:
    return "" if rf is None else str(rf)


def layer_table(report: Report, title: str) -> Table:
    # names come from the user's file: Text, never markup ("[/]" would raise a MarkupError)
    table = Table(title=Text(title), title_justify="left", header_style="bold",
                  caption="RF: receptive field in input pixels", caption_justify="left")
    table.add_column("Layer", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("RF", justify="right")
    for layer in report.layers:
        table.add_row(Text(layer.name), Text(layer.type), _shape(layer.output_shape),
                      f"{layer.params:,}" if layer.params else "", f"{layer.macs:,}" if layer.macs else "",
                      _rf(layer.receptive_field))
    return table


def counts(report: Report) -> Text:
    within = report.total_params < report.max_params
    text = Text()
    text.append("Total params: ", style="bold")
    text.append(f"{report.total_params:,}", style="green" if within else "red")
    text.append(f" ({'<' if within else '≥'} {report.max_params:,})\n")
    text.append(f"Trainable params: {report.trainable_params:,}\n")
    text.append(f"Non-trainable params: {report.non_trainable_params:,}\n")
    text.append(f"MACs per image: {report.macs:,}\n")
    side = Rules().input_shape[-1]  # a field wider than the image sees all of it, padding included
    whole = f" (the whole {side} px image)" if report.receptive_field >= side else ""
    text.append(f"Receptive field before global pooling: {report.receptive_field} px{whole}")
    return text


def verdict(report: Report) -> Panel:
    if report.ok:
        # fit to the content: piped output has no terminal width, and a panel fills the console's
        return Panel(Text("PASS: every rule holds", style="bold green"), border_style="green", expand=False)
    table = Table(show_edge=False, header_style="bold")
    table.add_column("Rule", style="red")
    table.add_column("Where")
    table.add_column("Message")
    for v in report.violations:
        table.add_row(v.rule, Text(v.where), Text(v.message))
    n = len(report.violations)
    return Panel(table, title=f"FAIL: {n} violation{'s' * (n != 1)}", title_align="left", expand=False,
                 border_style="red")


def report_view(report: Report, title: str) -> Group:
    return Group(layer_table(report, title), counts(report), verdict(report))


def history_table(history: list, title: str) -> Table:
    """Per-epoch training figures (a list of EpochStats)."""
    table = Table(title=Text(title), title_justify="left", header_style="bold")
    for name in ("Epoch", "Train loss", "Train acc", "Val loss", "Val acc", "Seconds"):
        table.add_column(name, justify="right")
    best = max((e.val_acc for e in history if e.val_acc is not None), default=None)
    for e in history:
        style = "bold green" if e.val_acc == best else ""
        val_loss = "" if e.val_loss is None else f"{e.val_loss:.4f}"
        val_acc = "" if e.val_acc is None else f"{e.val_acc:.2%}"
        table.add_row(str(e.epoch), f"{e.train_loss:.4f}", f"{e.train_acc:.2%}", val_loss,
                      Text(val_acc, style=style), f"{e.seconds:.1f}")
    return table


def train_summary(result) -> Text:
    """One paragraph on a TrainResult."""
    text = Text()
    text.append("Validation accuracy: ", style="bold")
    text.append(f"{result.val_acc:.2%}", style="bold green")
    text.append(f" (best {result.best_val_acc:.2%})\n")
    text.append(f"Params: {result.total_params:,}   Epochs: {len(result.history)}   "
                f"Seconds: {result.seconds:.1f}   Device: {result.device}, {result.precision}"
                + (" (train step as one CUDA graph)" if result.cuda_graph else "")
                + (" (forward and backward compiled)" if result.compiled else ""))
    return text


def progress_bar(**options) -> Progress:
    """The progress bar of `nas train` and `nas search`: name, bar, n/total, a stats field, time."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), **options)


def epoch_stats(stats) -> str:
    """An epoch's loss and validation accuracy (an EpochStats), for a progress bar."""
    val = "" if stats.val_acc is None else f"  val acc {stats.val_acc:.2%}"
    return f"loss {stats.train_loss:.4f}{val}"


@contextmanager
def epoch_progress(console: Console, epochs: int):
    """A progress bar over epochs with live loss and accuracy on a terminal, else a line per epoch
    (a log of a run of minutes would otherwise stay empty until its end); yields the on_epoch callback."""
    with progress_bar(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("training", total=epochs, stats="")
        done = 0

        def on_epoch(stats) -> None:
            nonlocal done
            done += 1
            progress.update(task, advance=1, stats=epoch_stats(stats))
            if not console.is_terminal:
                console.print(f"epoch {stats.epoch}: {epoch_stats(stats)}; {stats.seconds:.1f} s ({done} of {epochs})",
                              highlight=False, soft_wrap=True)

        yield on_epoch


# -- leaderboard rows as text -------------------------------------------------------------

def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows])


def to_csv(rows: list[Row]) -> str:
    from nas.leaderboard import Row  # the columns, also for no rows; imported here: leaderboard uses render

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Row)])
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return out.getvalue()


def to_markdown(rows: list[Row]) -> str:
    lines = ["| rank | trial | val acc | test acc | params | pareto | epochs | images | seconds | architecture | state |",
             "|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.rank or ''} | {r.trial} | {pct(r.val_acc)} | {test_cell(r)} | {count(r.total_params)} | "
                     f"{'★' if r.pareto else ''} | {r.epochs} | {count(r.images)} | {secs(r.seconds)} | `{r.arch}` | {r.state} |")
    return "\n".join(lines) + "\n"


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def test_cell(r: Row) -> str:
    return "" if r.test_acc is None else f"{r.test_acc:.2%} ± {r.test_acc_std:.2%} ({r.test_acc_settings})"


def count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
