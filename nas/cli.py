"""The `nas` command line: parse, call the library, render with rich."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from nas import __version__
from nas.errors import NasError

app = typer.Typer(help="Search, train and check tiny bias-free, FC-free CNNs for MNIST under hard rules.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)
_debug = False



@contextmanager
def user_errors():
    """Turn a NasError into one line on stderr and exit 2; --debug shows the traceback."""
    try:
        yield
    except NasError as exc:
        if _debug:
            raise
        err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nas {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """Search, train and check tiny bias-free, FC-free CNNs for MNIST under hard rules.

    Default rules (the classic challenge): fewer than 15,000 total params (BatchNorm running statistics count), no bias terms, no fully connected layer, at most 20 epochs.
    """
    global _debug
    _debug = debug


MaxParams = Annotated[int, typer.Option("--max-params", min=1,
                                        help="Total params must be strictly below this.")]
Strict = Annotated[bool, typer.Option("--strict", help="Also forbid the affine shift (beta) of normalization layers.")]


@app.command()
def validate(
    model_file: Annotated[Path, typer.Argument(help="Python file that defines the model.", show_default=False)],
    name: Annotated[Optional[str], typer.Option("--name", help="Attribute to use: an nn.Module instance, an nn.Module "
                                                "subclass, or a zero-argument function returning a module. "
                                                "Default: build_model(), else `model`, else the file's single "
                                                "nn.Module subclass.")] = None,
    max_params: MaxParams = 15_000,
    strict: Strict = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Check a model file against the rules.

    Exit 0: every rule holds. Exit 1: the model breaks at least one rule (a wrong output shape included). Exit 2: the file cannot be judged (missing, not Python, import error, no model or several, a constructor or forward that raises).
    """
    from nas.modelfile import load_model
    from nas.render import report_view
    from nas.rules import Rules, check

    with user_errors():
        model = load_model(model_file, name)
        report = check(model, Rules(max_params=max_params, strict=strict))
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        console.print(report_view(report, f"{model_file} ({type(model).__name__})"))
    raise typer.Exit(0 if report.ok else 1)
