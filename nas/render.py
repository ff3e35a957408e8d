"""Rich views of library results. Pure functions: data in, renderable out."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nas.rules import Report


def _shape(shape: tuple[int, ...] | None) -> str:
    return "not called" if shape is None else "×".join(map(str, shape)) or "scalar"


def _rf(rf: int | str | None) -> str:
    return "" if rf is None else str(rf)


def layer_table(report: Report, title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold",
                  caption="RF: receptive field in input pixels", caption_justify="left")
    table.add_column("Layer", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Output", no_wrap=True)
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("RF", justify="right")
    for layer in report.layers:
        table.add_row(layer.name, layer.type, _shape(layer.output_shape),
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
    text.append(f"Receptive field before global pooling: {report.receptive_field} px")
    return text


def verdict(report: Report) -> Panel:
    if report.ok:
        return Panel(Text("PASS: every rule holds", style="bold green"), border_style="green")
    table = Table(show_edge=False, header_style="bold")
    table.add_column("Rule", style="red")
    table.add_column("Where")
    table.add_column("Message")
    for v in report.violations:
        table.add_row(v.rule, v.where, v.message)
    n = len(report.violations)
    return Panel(table, title=f"FAIL: {n} violation{'s' * (n != 1)}", title_align="left",
                 border_style="red")


def report_view(report: Report, title: str) -> Group:
    return Group(layer_table(report, title), counts(report), verdict(report))
