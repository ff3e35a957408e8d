"""The `nas` command line: parse, call the library, render with rich."""

from __future__ import annotations

import json
import shlex
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.rich_utils
from rich.console import Console
from rich.text import Text

from nas import __version__
from nas.config import (DEFAULT_LR, JUDGE_TIMEOUT_SECONDS, RESULTS_DIR, STORAGE, STUDY, Device, Fidelity, Objective,
                        Optimizer, Pruner, Recipe, Sampler, SearchSettings, TableFormat)
from nas.errors import NasError, RulesBroken
from nas.rules import Rules

app = typer.Typer(help="Search, train and check tiny bias-free, FC-free CNNs for MNIST under hard rules.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _console(stderr: bool = False) -> Console:
    """A rich console; off a terminal (a pipe, a file, CI) without rich's 80-column default, so
    tables keep their natural width instead of being squeezed."""
    on_terminal = Console(stderr=stderr).is_terminal
    return Console(stderr=stderr) if on_terminal else Console(stderr=stderr, width=10_000)


console = _console()
err_console = _console(stderr=True)
_debug = False


def _one_line(error) -> None:
    """Click's own errors (an unknown option, a value not among an option's choices) as one line,
    like every other error nas prints, instead of a usage box."""
    message = error.format_message().rstrip(".").replace(": Value error, ", ": ")  # typer's enum wording
    err_console.print(Text.assemble(("error: ", "bold red"), message, "; see --help"), soft_wrap=True, highlight=False)


# typer shows click's errors through this function when rich is installed (nas requires rich)
typer.rich_utils.rich_format_error = _one_line


@contextmanager
def user_errors():
    """A NasError: one line on stderr, exit 2. A model that breaks the rules: its verdict, exit 1.

    --debug shows the traceback instead of the line.
    """
    try:
        yield
    except RulesBroken as exc:
        from nas.render import verdict

        if exc.after_training:  # it passed `nas validate`: say why it fails now
            err_console.print("The model kept the rules before training but breaks them as trained:")
        err_console.print(verdict(exc.report))
        raise typer.Exit(1)
    except NasError as exc:
        if _debug:
            raise
        err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        raise typer.Exit(2)
    except KeyboardInterrupt:
        err_console.print(Text("interrupted", style="bold red"))
        raise typer.Exit(130)


def flag(*names: str, **options):
    """A boolean option that takes no value: --help shows `--json`, not `--json <bool>` (which
    reads as if `--json true` worked)."""
    return typer.Option(*names, metavar="", **options)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nas {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, flag("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
    version: Annotated[Optional[bool], flag("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """Search, train and check tiny bias-free, FC-free CNNs for MNIST under hard rules.

    Default rules (the classic challenge): fewer than 15,000 total params (BatchNorm running statistics count), no bias terms, no fully connected layer, at most 20 epochs.
    """
    global _debug
    _debug = debug
    for stream in (sys.stdout, sys.stderr):  # a name from a model file or a storage is printed, whatever it holds
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")  # a lone surrogate (\ud800) crashed the print


RULES, RECIPE, SEARCH = Rules(), Recipe(), SearchSettings()  # the defaults, written once in nas/config.py and nas/rules.py

MaxParams = Annotated[int, typer.Option("--max-params", min=1,
                                        help="Total params must be strictly below this.")]
MaxEpochs = Annotated[int, typer.Option("--max-epochs", min=1, help="Most epochs the rules allow.")]
Strict = Annotated[bool, flag("--strict", help="Also forbid the affine shift (beta) of normalization layers.")]
ModelName = Annotated[Optional[str], typer.Option(
    "--name", help="Attribute to use: an nn.Module instance, an nn.Module subclass, or a zero-argument function "
                   "returning a module. Default: build_model(), else `model`, else the file's single nn.Module "
                   "subclass that takes no arguments.")]
ModelFile = Annotated[Path, typer.Argument(help="Python file that defines the model.", show_default=False)]
Timeout = Annotated[float, typer.Option(help="Seconds the model file may take to be imported and checked, "
                                        "in a process of its own, and, while it trains, the longest wait for a "
                                        "step to end; past them it is stopped (exit 2).")]
AsJson = Annotated[bool, flag("--json", help="Print one JSON object on stdout instead of tables.")]
Epochs = Annotated[int, typer.Option(help="Epochs to train (at most --max-epochs).")]
DeviceOption = Annotated[Device, typer.Option(help="auto: CUDA if there is a GPU, else the CPU.")]
DataDir = Annotated[Optional[Path], typer.Option(help="MNIST location. Default: $NAS_DATA_DIR, else ./data.")]
Subset = Annotated[Optional[int], typer.Option(help="Train on the first N images of the 50,000-image train split.")]
ValSubset = Annotated[Optional[int], typer.Option(help="Validate on the first N of the 10,000 validation images.")]
Storage = Annotated[str, typer.Option(help="Optuna storage URL (SQLite, PostgreSQL, MySQL...).")]
Study = Annotated[str, typer.Option(help="Study name in the storage.")]
# the recipe, for a model file (nas train, nas evaluate FILE); a trial keeps the recipe it was trained with
BatchSize = Annotated[int, typer.Option(min=1, help="Training batch size.")]
LearningRate = Annotated[Optional[float], typer.Option(help="Peak learning rate of the one-cycle schedule. Default: "
                                                       + ", ".join(f"{lr} for {o.value}" for o, lr in DEFAULT_LR.items()))]
OptimizerOption = Annotated[Optimizer, typer.Option(help="sgd is SGD with Nesterov momentum.")]
WeightDecay = Annotated[float, typer.Option(min=0, help="Weight decay.")]
LabelSmoothing = Annotated[float, typer.Option(min=0, max=1, help="Label smoothing.")]
Augment = Annotated[float, typer.Option(min=0, help=f"Augmentation strength: 1 is ±{RECIPE.max_rotation:g}° "
                                        f"rotation and ±{RECIPE.max_shift:.0%} translation, 0 is off.")]
Dropout = Annotated[Optional[float], typer.Option(min=0, max=1, help="Set p of the model's dropout layers.")]


@app.command()
def validate(
    model_file: ModelFile,
    name: ModelName = None,
    max_params: MaxParams = RULES.max_params,
    strict: Strict = RULES.strict,
    timeout: Timeout = JUDGE_TIMEOUT_SECONDS,
    as_json: AsJson = False,
) -> None:
    """Check a model file against the rules.

    The file is imported and the model run, forward and backward, in train and eval mode, in a process of its own with a time and a memory limit. Exit 0: every rule holds. Exit 1: the model breaks at least one rule (a wrong output shape included). Exit 2: the model cannot be judged (missing, not a .py file, import error, no model or several, a constructor or forward that raises, an exit, a crash, or the time limit).
    """
    from nas.judge import judge_file
    from nas.render import report_view

    with user_errors():
        report = judge_file(model_file, name, Rules(max_params=max_params, strict=strict), timeout=timeout,
                            debug=_debug)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        console.print(report_view(report, f"{model_file} ({report.model})"))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def train(
    model_file: ModelFile,
    name: ModelName = None,
    epochs: Epochs = RECIPE.epochs,
    batch_size: BatchSize = RECIPE.batch_size,
    lr: LearningRate = None,
    optimizer: OptimizerOption = RECIPE.optimizer,
    weight_decay: WeightDecay = RECIPE.weight_decay,
    label_smoothing: LabelSmoothing = RECIPE.label_smoothing,
    augment: Augment = RECIPE.augment,
    dropout: Dropout = None,
    seed: Annotated[int, typer.Option(help="Seeds the weights, the batch order and the augmentation.")] = RECIPE.seed,
    device: DeviceOption = Device.AUTO,
    data_dir: DataDir = None,
    subset: Subset = None,
    val_subset: ValSubset = None,
    out: Annotated[Optional[Path], typer.Option(help="Write metrics.json, weights.pt and a copy of the model file here.")] = None,
    max_params: MaxParams = RULES.max_params,
    max_epochs: MaxEpochs = RULES.max_epochs,
    strict: Strict = RULES.strict,
    timeout: Timeout = JUDGE_TIMEOUT_SECONDS,
    as_json: AsJson = False,
) -> None:
    """Train a model file on MNIST under the rules.

    The model is checked first: a model that breaks the rules is not trained (exit 1). Too many epochs, a missing data set or a bad option exit 2.
    """
    from nas import render
    from nas.judge import train_file
    from nas.train import writable_dir

    rules = Rules(max_params=max_params, max_epochs=max_epochs, strict=strict)
    with user_errors():
        recipe = Recipe(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                        label_smoothing=label_smoothing, augment=augment, dropout=dropout, seed=seed)
        rules.check_epochs(epochs)
        if out is not None:
            writable_dir(out, "--out")  # before training, not after it
        # Judged, then trained, in a watched process of its own: a file that exits, hangs or breaks
        # the rules stops there (what the model prints goes to stderr, not into the JSON)
        with render.epoch_progress(err_console, epochs) as on_epoch:
            trained = train_file(model_file, name, recipe, rules, device.value, data_dir, subset, val_subset, out,
                                 on_epoch, timeout, _debug)
    result = trained.result
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    console.print(render.history_table(result.history, f"{model_file} ({trained.model})"))
    console.print(render.train_summary(result))
    if out is not None:
        console.print(f"Wrote {out}/metrics.json, weights.pt and {Path(model_file).name}")
    else:
        err_console.print("Nothing saved: pass --out DIR to keep the weights and metrics.", style="dim")


@app.command()
def search(
    trials: Annotated[int, typer.Option(min=1, help="Trained trials to add to the study (rejected candidates do "
                                        "not count). Running again adds this many more.")] = SEARCH.trials,
    space: Annotated[str, typer.Option(help="Search space: a name from `nas spaces`, or a path to a .py file.")] = SEARCH.space,
    epochs: Epochs = SEARCH.epochs,
    subset: Subset = None,
    val_subset: ValSubset = None,
    device: DeviceOption = Device.AUTO,
    data_dir: DataDir = None,
    storage: Storage = STORAGE,
    study: Study = STUDY,
    seed: Annotated[int, typer.Option(help="Seeds every trial's training, and the sampler: per trial number, so a "
                                       "resumed run or another machine continues instead of repeating.")] = SEARCH.seed,
    sampler: Annotated[Sampler, typer.Option(help="Optuna's sampler.")] = SEARCH.sampler,
    objective: Annotated[Objective, typer.Option(help="accuracy: best validation accuracy, ties to fewer params; "
                                                 "pareto: accuracy and params together (no pruning).")] = SEARCH.objective,
    pruner: Annotated[Pruner, typer.Option(help="Stops weak trials at full fidelity; median waits 3 epochs before "
                                           "it stops one.")] = SEARCH.pruner,
    fidelity: Annotated[Fidelity, typer.Option(help="multi: train every candidate briefly and only the best on to "
                                               "full training (successive halving); full: every trial trains "
                                               "--epochs on the whole split; auto: multi on the CPU, full on a "
                                               "GPU.")] = SEARCH.fidelity,
    timeout: Annotated[Optional[float], typer.Option(help="Start no new trial after this many seconds.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Trials at once, each in its own process, all "
                                                   "writing to the same storage. Default: 1 on the CPU, 4 on "
                                                   "a GPU.")] = None,
    results_dir: Annotated[Path, typer.Option(help="Trial weights go to RESULTS_DIR/STUDY/trial_N/.")] = Path(RESULTS_DIR),
    heartbeat: Annotated[int, typer.Option(min=1, help="Seconds between a running trial's heartbeats. A worker "
                                           "silent for twice this is declared dead: its trial is marked failed "
                                           "and run again by another worker.")] = SEARCH.heartbeat,
    max_params: MaxParams = RULES.max_params,
    max_epochs: MaxEpochs = RULES.max_epochs,
    strict: Strict = RULES.strict,
    top: Annotated[int, typer.Option(help="Rows of the leaderboard printed at the end.")] = 10,
) -> None:
    """Search for the best model under the rules with Optuna.

    Candidates from the space are checked by the validator before training; rejected ones are recorded and do not count. Survivors train for --epochs, report validation accuracy each epoch, and may be pruned. Ctrl-C marks the running trial failed, keeps the finished ones and prints the leaderboard.
    """
    from nas.render import plural
    from nas.render_search import SearchView, leaderboard_table
    from nas.leaderboard import check_top, leaderboard
    from nas.search import run_search
    from nas.storage import load_study, mask

    settings = SearchSettings(space=space, trials=trials, epochs=epochs, subset=subset, val_subset=val_subset,
                              device=device, data_dir=str(data_dir) if data_dir else None, storage=storage,
                              study=study, seed=seed, sampler=sampler, objective=objective, pruner=pruner, fidelity=fidelity, timeout=timeout,
                              workers=workers, heartbeat=heartbeat,
                              results_dir=str(results_dir),
                              rules=Rules(max_params=max_params, max_epochs=max_epochs, strict=strict))
    interrupted = False
    with user_errors():
        check_top(top)  # before the search, not after it
        try:
            live = console.is_terminal and err_console.is_terminal  # else plain lines on stdout, for logs
            with SearchView(err_console if live else console, live) as view:
                outcome = run_search(settings, view)
        except KeyboardInterrupt:
            interrupted = True
        rows = leaderboard(load_study(storage, study), top=top)
    console.print(leaderboard_table(rows, f"Study {study!r}: top {len(rows)}"))
    if interrupted:
        err_console.print(Text("interrupted: running trials are marked failed; finished trials are kept",
                               style="bold yellow"))
        raise typer.Exit(130)
    note = " (timeout)" if outcome.stop_reason == "timeout" else ""
    promoted = f" (and {plural(outcome.promoted, 'training')} of the best at higher rungs)" if outcome.promoted else ""
    console.print(f"{plural(outcome.trained, 'trial')} trained{promoted}, {plural(outcome.rejected, 'candidate')} "
                  f"rejected before training, {outcome.seconds:.1f} s{note}")
    if rows:  # how to take the best model away, with the options this search was given
        where = _given(("--study", study, SEARCH.study), ("--storage", mask(storage), mask(SEARCH.storage)))
        data = _given(("--subset", subset, None), ("--device", device.value, Device.AUTO.value),
                      ("--data-dir", data_dir, None))
        err_console.print(f"\nNext: nas evaluate {rows[0].trial} --seeds 3{data}{where}, then "
                          f"nas export {rows[0].trial} -o best.py --weights best.pt{where}",
                          style="dim", highlight=False, soft_wrap=True)  # one line, to copy


def _given(*options: tuple[str, object, object]) -> str:
    """Each (flag, value, default) whose value is not the default, as shell words to copy."""
    return "".join(f" {flag} {shlex.quote(str(value))}" for flag, value, default in options
                   if value is not None and value != default)


@app.command()
def leaderboard(
    storage: Storage = STORAGE,
    study: Study = STUDY,
    top: Annotated[Optional[int], typer.Option(help="Show only the best N.")] = None,
    all_trials: Annotated[bool, flag("--all", help="Include pruned, failed and rejected trials.")] = False,
    fmt: Annotated[TableFormat, typer.Option("--format", help="How to print the rows.")] = TableFormat.TABLE,
) -> None:
    """Rank a study's trials by validation accuracy (ties: fewer params first); ★ marks the Pareto-optimal ones (accuracy against params).

    Architecture, e.g. c11d2-M-t10-c17-G-h10: c16: a 3×3 conv with 16 output channels (d2: dilation 2); t10: a 1×1 transition conv to 10 channels; M: 2×2 max-pool; G: global average pool; h10: the 1×1 head conv to 10 classes. BatchNorm, activations and dropout are not shown.
    """
    from nas import render
    from nas.leaderboard import leaderboard as ranked
    from nas.storage import load_study

    with user_errors():
        rows = ranked(load_study(storage, study), top=top, include_all=all_trials)
    if fmt == TableFormat.TABLE:
        from nas.render_search import leaderboard_table

        console.print(leaderboard_table(rows, f"Study {study!r}", show_reason=all_trials))
    else:
        writer = {TableFormat.JSON: render.to_json, TableFormat.CSV: render.to_csv,
                  TableFormat.MARKDOWN: render.to_markdown}[fmt]
        typer.echo(writer(rows), nl=fmt == TableFormat.JSON)


@app.command()
def data(
    source: Annotated[Optional[Path], typer.Option("--from", help="A folder holding the four MNIST .gz files "
                                                  "(directly or in MNIST/raw): copy them, for offline machines. "
                                                  "Default: download them.", show_default=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Put MNIST in the data directory (DATA_DIR/MNIST/raw), where every command reads it."""
    from nas.data import place_mnist

    with user_errors():
        placed = place_mnist(data_dir, source)
    console.print(f"MNIST in {placed.raw}: {placed.how}", highlight=False)


@app.command()
def spaces() -> None:
    """List the search spaces, each with a one-line description."""
    from rich.table import Table

    from nas.space import list_spaces

    with user_errors():
        found = list_spaces()
    table = Table(header_style="bold")
    table.add_column("Space")
    table.add_column("Description")
    table.add_column("File")
    for space in found:
        table.add_row(space.name, space.description, str(space.path))
    console.print(table)


@app.command()
def evaluate(
    target: Annotated[str, typer.Argument(help="A trial number of --study, or a model file.", show_default=False)],
    seeds: Annotated[int, typer.Option(min=1, help="Trainings, with seeds 0..N-1.")] = 3,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs per training. Default: the trial's, or 20 "
                                                  "for a model file.")] = None,
    name: ModelName = None,
    batch_size: BatchSize = RECIPE.batch_size,
    lr: LearningRate = None,
    optimizer: OptimizerOption = RECIPE.optimizer,
    weight_decay: WeightDecay = RECIPE.weight_decay,
    label_smoothing: LabelSmoothing = RECIPE.label_smoothing,
    augment: Augment = RECIPE.augment,
    dropout: Dropout = None,
    storage: Storage = STORAGE,
    study: Study = STUDY,
    subset: Annotated[Optional[int], typer.Option(help="Train on the first N of the 60,000 training images "
                                                  "(for quick runs).")] = None,
    device: DeviceOption = Device.AUTO,
    data_dir: DataDir = None,
    max_params: MaxParams = RULES.max_params,
    max_epochs: MaxEpochs = RULES.max_epochs,
    strict: Strict = RULES.strict,
    timeout: Timeout = JUDGE_TIMEOUT_SECONDS,
    as_json: AsJson = False,
) -> None:
    """Final test accuracy: retrain on all 60,000 training images once per seed, then test.

    The only command that reads the test set. For a trial, the result is stored with its study and shown by `nas leaderboard` as test acc. A trial is retrained with its own recipe; a model file with the recipe options, as `nas train` takes them (`nas export` prints the ones of its trial).
    """
    from nas import render
    from nas.final_test import final_test_trial
    from nas.judge import final_test_file
    from nas.leaderboard import complete_trial
    from nas.storage import load_study

    rules = Rules(max_params=max_params, max_epochs=max_epochs, strict=strict)
    data = str(data_dir) if data_dir else None
    with user_errors():
        recipe = Recipe(epochs=epochs or RECIPE.epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
                        weight_decay=weight_decay, label_smoothing=label_smoothing, augment=augment, dropout=dropout)
        if target.isdigit() and replace(recipe, epochs=RECIPE.epochs) != RECIPE:
            raise NasError(f"trial {target} is retrained with the recipe it was trained with; the recipe options "
                           "(--lr, --augment, ...) are for a model file: `nas export` one")
        loaded = load_study(storage, study) if target.isdigit() else None
        # each seed's epochs, for the progress bar: the trial's own (stored data), unless --epochs says otherwise
        stored = complete_trial(loaded, int(target)).user_attrs.get("recipe") if loaded is not None else None
        per_seed = epochs or (stored.get("epochs") if isinstance(stored, dict) else None)
        per_seed = per_seed if isinstance(per_seed, int) and per_seed > 0 else RECIPE.epochs
        with render.epoch_progress(err_console, seeds * per_seed) as on_epoch:
            if loaded is not None:
                result = final_test_trial(loaded, int(target), seeds, epochs, rules, device, data, subset, on_epoch)
            else:  # judged first, before any data is loaded
                result = final_test_file(target, name, recipe, seeds, rules, device.value, data, subset, timeout,
                                         _debug, on_epoch)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    console.print(Text.assemble((result.target, "bold"), ": test accuracy ", result.summary()), soft_wrap=True)
    console.print(f"{result.total_params:,} params, {render.plural(result.epochs, 'epoch')} on "
                  f"{result.train_images:,} images, "
                  f"{result.seconds:.1f} s")


@app.command()
def export(
    trial: Annotated[int, typer.Argument(help="Trial number in --study.", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--out", help="The PyTorch file to write.")] = Path("model.py"),
    weights: Annotated[Optional[Path], typer.Option(help="Also write the trial's trained weights (a "
                                                   "state_dict) here.")] = None,
    onnx: Annotated[Optional[Path], typer.Option(help="Also write the trained model as ONNX here (needs "
                                                "nas\\[onnx]); checked against onnxruntime where installed.")] = None,
    storage: Storage = STORAGE,
    study: Study = STUDY,
) -> None:
    """Write a trial as a standalone PyTorch file (imports only torch; build_model() and a class with named blocks)."""
    from nas.export import export_trial
    from nas.storage import load_study

    with user_errors():
        exported = export_trial(load_study(storage, study), trial, out, weights, onnx)
    console.print("Wrote " + ", ".join(str(p) for p in (out, weights, onnx) if p is not None))
    # a model file carries no recipe: these options give the trial's (nas evaluate FILE takes them too)
    console.print(f"To train it as trial {trial} was: {exported.train_command}", highlight=False, soft_wrap=True)


@app.command()
def report(
    storage: Storage = STORAGE,
    study: Study = STUDY,
    out: Annotated[Optional[Path], typer.Option(help="Folder for the PNGs. Default: results/STUDY.")] = None,
) -> None:
    """Write PNG plots of a study: accuracy against params (with published results to beat), optimization history, parameter importances."""
    from nas.plots import write_plots
    from nas.storage import load_study

    with user_errors():
        files = write_plots(load_study(storage, study), out)
    for path in files.written:
        console.print(f"Wrote {path}")
    for line in files.skipped:
        err_console.print(line, style="dim", highlight=False, soft_wrap=True)
