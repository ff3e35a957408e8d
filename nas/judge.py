"""Run a model file's code in a process of its own: judge it, train it, test it.

A model file is Python: it may exit, loop forever, eat memory, print, or patch nas itself, at
import or only at its 300th call. So nas never imports it in its own process: the file is
checked, trained and tested in a child process (`python -m nas.judge`), and the parent maps what
happened to an outcome. The child's reports are the result; anything else (an exit, a signal, a
stall past the time limit, a garbled answer) means the model cannot be judged or trained: one
line, exit 2. The child answers on a pipe of its own, each message with a token it was given on
stdin before the file was imported, so text the file prints cannot pass for a result; and it
refuses to answer when the file has changed nas's or torch's own functions.

Judging runs on the CPU with a memory limit, and must end within `timeout` seconds. Training and
testing judge the file the same way first, in the same process (a model that breaks a rule is not
trained; one process, not two: each starts by importing torch), then run on the device the user
chose, where a step must end every `timeout` seconds (the first step of each training gets
STARTUP_SECONDS more: loading data, the check on the device, a first compile), so a model that
loops forever at its 300th call is stopped instead of hanging.

What the child says is not taken on trust: it also records what the model computes (nas/graph.py:
each forward pass the verdict or the accuracy rests on, as torch operations, and the weights), and
nas's own process, which never runs the file, checks that recording against the rules and
measures its accuracy itself. Those figures are the ones reported. A file can still cheat where
the recording cannot see: in how it trains (the epochs, the images), or by computing something
else than it is recorded computing. A leaderboard should judge submissions on a machine of its own.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from nas.errors import NasError, RulesBroken, describe
from nas.modelfile import check_source_path, exited
from nas.rules import CHECK_BATCHES, MAX_PARAMS, Report, Rules, params_violation

if TYPE_CHECKING:
    from nas.config import Recipe
    from nas.final_test import FinalTest
    from nas.train import EpochStats, TrainResult

T = TypeVar("T")
TIMEOUT_SECONDS = 60.0
MAX_TIMEOUT_SECONDS = 86_400  # a day: a longer wait is a typo, not a model
MEMORY_MB = 4096  # on top of what importing torch takes
# Before the first step of a training ends: the data loads, the validator checks the model again
# and, for a long CPU run, torch.compile compiles it (40-80 s cold on 2 cores)
STARTUP_SECONDS = 300.0
MAX_MESSAGE_BYTES = 64 * 2**20  # no report is this big
KEPT_OUTPUT_BYTES = 64 * 2**10  # of what a judged file prints: the end, shown by --debug
RECORDED = "nas-recorded-"  # the temporary folder the child records the model in


def judge_file(path: str | Path, name: str | None = None, rules: Rules = Rules(),
               batch_sizes: tuple[int, ...] | None = None, timeout: float = TIMEOUT_SECONDS,
               memory_mb: int = MEMORY_MB, debug: bool = False) -> Report:
    """The validator's report on the model a file defines, reached in a child process.

    Raises NasError when the model cannot be judged: the file is not a Python source file, it
    cannot be imported or built, its forward raises, or the process exits, is killed, or runs
    past `timeout` seconds or `memory_mb` MB.
    """
    batch_sizes = tuple(batch_sizes or CHECK_BATCHES)
    request = {"name": name, "rules": asdict(rules), "batch_sizes": batch_sizes, "memory_mb": memory_mb}
    env = os.environ | {"CUDA_VISIBLE_DEVICES": ""}  # judged on the CPU, the same everywhere

    def read(message: dict, recorded: Path) -> Report:
        with _replaying(recorded, path, timeout) as replayed:
            return _verified(Report.from_dict(message["report"]), replayed, rules, batch_sizes)
    return _run("judge", path, request, timeout, read, env=env, debug=debug)


@contextmanager
def _replaying(folder: Path, path: Path, timeout: float):
    """The model the child recorded, as nas's own process replays it (nas.graph.Recorded), under a
    watch while the block runs: an operation that does not end within `timeout` seconds ends this
    process, exit 2 and one line (a graph can be made to compute for hours, and a running
    operation cannot be interrupted)."""
    from nas import graph

    recorded = graph.load(folder)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(min(1.0, timeout / 4)):
            if time.monotonic() - recorded.progress > timeout:
                sys.stderr.write(f"error: {path}'s recorded model ran one operation past {timeout:g} s in nas's own "
                                 "process; nas cannot judge it (or raise --timeout)\n")
                sys.stderr.flush()
                shutil.rmtree(folder.parent if folder.parent.name.startswith(RECORDED) else folder, True)
                os._exit(2)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield recorded
    finally:
        done.set()
        # its last reference to the model goes with it: let it go now, not while Python exits
        # (a thread freeing tensors then is ended inside torch's code, and the process aborts)
        watcher.join()


def _verified(told: Report, replayed, rules: Rules, batch_sizes: tuple[int, ...], after_training: bool = False
              ) -> Report:
    """The child's report `told`, as the check of the recorded model in this process has it: a
    broken rule the child did not tell of, and the larger count of parameters (the child counts
    what the model holds, used or not; the recording, what it reads), are this process's.
    `after_training`: a rule broken here is RulesBroken, as the child's check after training."""
    from nas import validator

    if not told.ok:
        return told  # a verdict against the model: none to gain by faking it
    if not set(batch_sizes) <= set(replayed.batch_sizes):
        raise NasError(f"the model's recording lacks the batch sizes it is checked at ({batch_sizes}); nas cannot "
                       "judge it")
    own = validator.check(replayed, rules, replayed.batch_sizes)  # every graph recorded, measured ones too
    trainable = max(told.trainable_params, own.trainable_params)
    total = max(told.total_params, own.total_params, trainable)
    limit = params_violation(total, trainable, rules)
    violations = ([limit] if limit else []) + [v for v in own.violations if v.rule != MAX_PARAMS]
    report = replace(told, total_params=total, trainable_params=trainable, non_trainable_params=total - trainable,
                     violations=violations)
    if after_training and not report.ok:
        raise RulesBroken(report, after_training=True)
    return report


@dataclass
class TrainedFile:
    result: TrainResult
    model: str  # the model's class name


def train_file(path: str | Path, name: str | None, recipe: Recipe, rules: Rules = Rules(), device: str = "auto",
               data_dir: str | Path | None = None, subset: int | None = None, val_subset: int | None = None,
               out: str | Path | None = None, on_epoch: Callable[[EpochStats], None] | None = None,
               timeout: float = TIMEOUT_SECONDS, debug: bool = False) -> TrainedFile:
    """Judge, then train, the model a file defines (`nas train`) in a child process; with `out`,
    the run is written there (nas.train.save_run: the figures measured in this process on what
    the child recorded, the weights the child wrote). What the file prints goes to stderr.

    Raises RulesBroken when the model breaks a rule, before training (checked as judge_file
    checks it at the batch sizes 3 and recipe.batch_size, then on the training device) or once
    trained. Raises NasError when the file cannot be judged, training fails, the file exits or
    patches nas, or no step ends within `timeout` seconds; the child's TrainingDiverged is a
    NasError too.
    """
    from nas.data import load_train_val
    from nas.train import TrainResult, save_run

    batch_sizes = (3, recipe.batch_size)
    request = {"name": name, "rules": asdict(rules), "batch_sizes": batch_sizes, "memory_mb": MEMORY_MB,
               "recipe": asdict(recipe), "device": str(device), "data_dir": _str(data_dir), "subset": subset,
               "val_subset": val_subset, "out": _str(out)}

    def read(message: dict, recorded: Path) -> TrainedFile:
        result = TrainResult.from_dict(message["result"])
        last = result.history[-1]
        with _replaying(recorded, path, timeout) as replayed:
            report = _verified(Report.from_dict(message["report"]), replayed, rules, batch_sizes, after_training=True)
            if last.val_acc is not None:
                val = load_train_val(data_dir, subset, val_subset)[1]
                last.val_loss, last.val_acc = _measured(path, replayed, val, last.val_acc)
        result.total_params = max(result.total_params, report.total_params)
        if out is not None:
            save_run(out, None, result, path, extra={"name": name}, weights=_weights(path, recorded))
        return TrainedFile(result, str(message["model"]))
    return _run("train", path, request, timeout, read, on_epoch=_epochs(path, on_epoch), debug=debug)


WEIGHTS = "weights.pt"


def _weights(path: Path, recorded: Path) -> bytes:
    try:
        return (recorded / WEIGHTS).read_bytes()
    except OSError:
        raise NasError(_GARBLED.format(path=path)) from None


# How far the child's accuracy may be from what this process measures on the recording: the
# same float32 weights on another device (a CUDA training is measured there) can flip an image
# or two near a decision boundary
TOLD_IMAGES = 3


def _measured(path: Path, replayed, split, told: float) -> tuple[float, float]:
    """(loss, accuracy) of the recorded model on `split`, measured here on the CPU; a NasError if
    the child told of an accuracy more than TOLD_IMAGES images away."""
    import torch

    from nas.train import measure, to_device

    try:
        loss, accuracy = measure(replayed, *to_device(split, torch.device("cpu")))
    except NasError:
        raise
    except Exception as exc:  # a recording made to break nas's measuring
        raise NasError(f"{path}'s recorded model cannot be measured ({describe(exc)}); nas cannot judge it") from None
    if abs(accuracy - told) * len(split) > TOLD_IMAGES:
        raise NasError(f"{path} reported {told:.2%} accuracy, but the model it recorded scores {accuracy:.2%} in "
                       "nas's own process; nas cannot trust a model that computes something else than it shows")
    return loss, accuracy


def final_test_file(path: str | Path, name: str | None, recipe: Recipe, seeds: int, rules: Rules = Rules(),
                    device: str = "auto", data_dir: str | Path | None = None, subset: int | None = None,
                    timeout: float = TIMEOUT_SECONDS, debug: bool = False,
                    on_epoch: Callable[[EpochStats], None] | None = None) -> FinalTest:
    """nas.final_test.final_test_model for the model a file defines, in a child process that
    judges it first, as judge_file does; raises as train_file does. `on_epoch`: each seed's
    epochs in turn."""
    from nas.data import load_test
    from nas.final_test import FinalTest

    request = {"name": name, "rules": asdict(rules), "batch_sizes": CHECK_BATCHES, "memory_mb": MEMORY_MB,
               "recipe": asdict(recipe), "seeds": seeds, "device": str(device), "data_dir": _str(data_dir),
               "subset": subset}

    def read(message: dict, recorded: Path) -> FinalTest:
        result = FinalTest.from_dict(message["result"])
        told = Report.from_dict(message["report"])
        test = load_test(data_dir)
        for seed, accuracy in enumerate(result.test_accs):
            with _replaying(recorded / f"seed{seed}", path, timeout) as replayed:
                report = _verified(told, replayed, rules, CHECK_BATCHES, after_training=True)
                result.test_accs[seed] = _measured(path, replayed, test, accuracy)[1]
            result.total_params = max(result.total_params, report.total_params)
        return result
    return _run("final-test", path, request, timeout, read, on_epoch=_epochs(path, on_epoch), debug=debug)


def _epochs(path: str | Path, on_epoch: Callable[[EpochStats], None] | None) -> Callable[[dict], None] | None:
    """An epoch's message from the child, as EpochStats for `on_epoch`."""
    from nas.train import EpochStats

    if on_epoch is None:
        return None
    stats = _reading(path, lambda message: EpochStats(**message["epoch"]))
    return lambda message: on_epoch(stats(message))


def _str(path: str | Path | None) -> str | None:
    return None if path is None else str(path)


# how each task reads in a message: (what nas was doing, what the child process does, what ends it)
_DOING = {"judge": ("judging", "checks it", "a verdict"), "train": ("training", "trains it", "the training ended"),
          "final-test": ("testing", "tests it", "the test ended")}


def _run(task: str, path: str | Path, request: dict, timeout: float, read: Callable[[dict, Path], T],
         env: dict | None = None, on_epoch: Callable[[dict], None] | None = None, debug: bool = False) -> T:
    """Run `task` on the file `path` in a child process; its last message, once it is a result, as
    `read` reads it with the folder the child recorded the model in (an epoch's message goes to
    `on_epoch`)."""
    path = check_source_path(path)
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:  # NaN fails too; inf and 1e300 overflow the clock's arithmetic
        raise NasError(f"--timeout {timeout:g} must be a number of seconds above 0 and at most "
                       f"{MAX_TIMEOUT_SECONDS:,}; give the seconds a model may take to be judged")
    with tempfile.TemporaryDirectory(prefix=RECORDED) as recorded:
        return _run_in(task, path, request | {"record": recorded}, timeout, read, env, on_epoch, debug)


def _run_in(task: str, path: Path, request: dict, timeout: float, read: Callable[[dict, Path], T],
            env: dict | None, on_epoch: Callable[[dict], None] | None, debug: bool) -> T:
    token = secrets.token_hex(16)
    request = request | {"task": task, "path": str(path), "token": token, "debug": debug}
    # what checks the recording, imported meanwhile (torch: 2-3 s, while the child imports it too)
    threading.Thread(target=lambda: [importlib.import_module(m) for m in ("nas.graph", "nas.validator", "nas.train")],
                     daemon=True).start()
    message_read, message_write = os.pipe()
    output_read, output_write = os.pipe()  # what the file prints, and nas's warnings from the child
    try:
        child = subprocess.Popen([sys.executable, "-m", "nas.judge", str(message_write)], stdin=subprocess.PIPE,
                                 stdout=output_write, stderr=output_write, pass_fds=(message_write,),
                                 start_new_session=True, env=env)
    finally:
        os.close(message_write)
        os.close(output_write)
    try:
        try:
            child.stdin.write(json.dumps(request).encode())
            child.stdin.close()
        except BrokenPipeError:
            pass
        watch = _Watch(child, token, timeout, STARTUP_SECONDS, show_output=task != "judge")
        last = watch.follow(message_read, output_read, on_epoch)
    finally:  # Ctrl-C included: no child is left running
        _kill(child)
        os.close(message_read)
        os.close(output_read)
    if debug and task == "judge":
        sys.stderr.write(watch.kept.decode(errors="replace"))
    if watch.stalled is not None:
        if not watch.started:
            raise NasError(f"{path} was not judged within {timeout:g} s (an import or a forward pass that never "
                           "returns?); fix the model, or raise --timeout")
        raise NasError(f"{path} stalled while nas trained it: nothing finished within {watch.stalled:g} s (a "
                       "forward pass that never returns?); fix the model, or raise --timeout")
    outcome = _outcome(path, last, watch, child.returncode, _DOING[task], request.get("memory_mb"))
    return _reading(path, read)(outcome, Path(request["record"]))


def _reading(path: str | Path, read: Callable[..., T]) -> Callable[..., T]:
    """`read`, where a message that has the token but not the fields of a result (one the file
    wrote with the token it found) is an error of one line, not a traceback."""
    def checked(message: dict, *more) -> T:
        try:
            return read(message, *more)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise NasError(_GARBLED.format(path=path)) from None
    return checked


class _Watch:
    """Follows a child: its messages (each a line of JSON with the token), its output, its silences.

    A silence may last `timeout` seconds: the judging, and each step; a training's start (a beat)
    gives `startup` seconds more until its first step ends.
    """

    def __init__(self, child: subprocess.Popen, token: str, timeout: float, startup: float, show_output: bool):
        self.child, self.token, self.show_output = child, token, show_output
        self.timeout, self.startup = timeout, startup
        self.kept = b""  # the end of the output, when it is not shown
        self.stalled: float | None = None  # the silence, in seconds, after which the child was stopped
        self.started = False  # a training began: the judging is over
        self.garbled = False
        self.lingered = False  # it went on running after it closed its message pipe

    def follow(self, message_fd: int, output_fd: int, on_epoch: Callable[[dict], None] | None) -> dict | None:
        """Read until the child closes its message pipe; the last message that is not a beat."""
        buffer, last = b"", None
        limit = self.timeout
        deadline = time.monotonic() + limit
        with selectors.DefaultSelector() as selector:
            selector.register(message_fd, selectors.EVENT_READ)
            selector.register(output_fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                ready = selector.select(timeout=left) if left > 0 else []
                if not ready:
                    self.stalled = limit
                    return None
                for key, _ in ready:
                    chunk = os.read(key.fd, 65536)
                    if key.fd == output_fd:
                        if not chunk:
                            selector.unregister(output_fd)
                        self._output(chunk)
                        continue
                    if not chunk:  # the child closed its end: it ended, or ran os._exit
                        if buffer:
                            last = self._parse(buffer) or last
                        self._wait_a_little()
                        return None if self.garbled else last
                    buffer += chunk
                    if len(buffer) > MAX_MESSAGE_BYTES:
                        self.garbled = True
                        return None
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        message = self._parse(line)
                        if message is None:
                            return None
                        if "beat" in message or "epoch" in message:  # a training started, a step or an epoch ended
                            starts = message.get("beat") == "start"
                            self.started = self.started or starts
                            limit = self.timeout + self.startup if starts else self.timeout
                            if "epoch" in message and on_epoch is not None:
                                on_epoch(message)
                        else:
                            last = message
                        deadline = time.monotonic() + limit

    def _parse(self, line: bytes) -> dict | None:
        try:
            message = json.loads(line.decode())
            assert isinstance(message, dict) and message.get("token") == self.token
        except (ValueError, UnicodeDecodeError, AssertionError):
            self.garbled = True
            return None
        return message

    def _output(self, chunk: bytes) -> None:
        if self.show_output:
            sys.stderr.write(chunk.decode(errors="replace"))
            sys.stderr.flush()
        else:
            self.kept = (self.kept + chunk)[-KEPT_OUTPUT_BYTES:]

    def _wait_a_little(self) -> None:
        try:
            self.child.wait(timeout=5)  # it exits right after its last message
        except subprocess.TimeoutExpired:
            self.lingered = True


def _kill(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)  # the whole group: threads and any process the file started
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


_GARBLED = "{path} wrote to the channel nas's verdict comes on; nas cannot judge it"


def _outcome(path: Path, message: dict | None, watch: _Watch, returncode: int, doing: tuple[str, str, str],
             memory_mb: int | None) -> dict:
    if watch.garbled:
        raise NasError(_GARBLED.format(path=path))
    if message is None and watch.lingered:  # then nas killed it: not a crash, not the memory limit
        raise NasError(f"{path} closed the channel nas's verdict comes on and went on running; nas cannot "
                       "judge it")
    if message is None and returncode < 0:
        name = signal.Signals(-returncode).name
        hint = f" (over the {memory_mb:,} MB memory limit?)" if memory_mb and name in (
            "SIGKILL", "SIGSEGV", "SIGABRT") else ""
        raise NasError(f"{doing[0]} {path} was stopped by {name}{hint}; the model file must not kill or crash "
                       f"the process that {doing[1]}")
    if message is None:
        raise NasError(f"{path} ended the process that {doing[1]} (exit code {returncode}) before {doing[2]}; "
                       "a model file must not call sys.exit or os._exit")
    if "error" in message:
        raise NasError(message["error"])
    if "broken" in message:
        broken = _reading(path, lambda message: RulesBroken(Report.from_dict(message["broken"]),
                                                            bool(message["after_training"])))
        raise broken(message)
    return message


# -- the child -----------------------------------------------------------------------------------

_WATCHED = ("torch", "torch.nn.modules.module", "torch.utils._python_dispatch", "torch.utils._pytree",
            "torch.nn.functional", "torch.autograd", "math", "builtins", "operator", "os", "json", "functools")


def _fingerprint() -> dict:
    """Every function and class attribute in nas, in this module and in the torch machinery the
    check relies on, and the contents of nas's module-level collections, so that a file that swaps
    one can be caught. The objects themselves, not their ids: held here, none is freed while the
    file runs, so a replacement cannot be given a freed original's id (measured: a swapped
    nas.train.measure that nothing else held passed as unchanged). 11 ms."""
    import torch

    def record(key: tuple, value) -> None:
        # `value` at `key`, and for a Python function (or what it wraps) the parts that can be
        # swapped in place, keeping the function object: its code, defaults and closure's contents
        found[key] = value
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        if isinstance(function, types.FunctionType):
            wrapped = function.__dict__.get("__wrapped__")  # functools.wraps: the function that does the work
            if wrapped is not None:
                record(key + ("<wrapped>",), wrapped)
            cells = []
            for cell in function.__closure__ or ():
                try:
                    cells.append(cell.cell_contents)
                except ValueError:  # a cell not yet filled
                    cells.append(None)
            found[key + ("<inside>",)] = (function, function.__code__, function.__defaults__,
                                           function.__kwdefaults__, *cells)

    found = {}
    # this module too: it runs as __main__ in the child, where a file could swap the comparison
    own = sys.modules[__name__]
    modules = {"nas.judge": own} | {n: m for n, m in list(sys.modules.items())
                                    if m is not own and (n == "nas" or n.startswith("nas.") or n in _WATCHED)}
    for name, module in modules.items():
        for attribute, value in list(vars(module).items()):
            record((name, attribute), value)
            if isinstance(value, (set, frozenset, dict, list, tuple)) and name.startswith("nas"):
                found[(name, attribute, "contents")] = repr(sorted(map(repr, value)))
            if isinstance(value, type) and (value.__module__ or "").startswith(("nas", __name__)):
                for key, member in list(vars(value).items()):
                    record((name, attribute, key), member)
    for cls in (torch.Tensor, torch.nn.Module, torch.nn.Parameter):
        for key, member in list(vars(cls).items()):
            record((cls.__name__, key), member)
    return found


# classes whose attributes a file could add to, overriding what their C base defines
# (torch.Tensor.argmax is not in vars(torch.Tensor)): a new attribute there is a change too
_CLOSED = {"Tensor", "Module", "Parameter"}


# torch itself rebinds these: manual_seed when torch._dynamo is first imported (a model using
# torch.compile; the check draws a fresh random seed per model, so a patched seeding cannot make
# a model pass), nn.Module's __init__ and __setstate__ when a CPU training compiles (the
# weights are counted on the model built, whatever its constructor's wrapping), adding a flag;
# and pickle caches Tensor.__slotnames__ when the recording is saved
_REBOUND_BY_TORCH = {("torch", "manual_seed"), ("Module", "__init__"), ("Module", "__setstate__"),
                     ("Module", "___needs_generation_tag_patch"), ("Tensor", "__slotnames__")}


def _tamper_check(path: str, doing: Callable[[], str]) -> Callable[[], None]:
    """A check, to call whenever nas takes over from the file's code again, that nothing in nas,
    torch or this module has changed since now, before the file runs: it raises NasError once
    something has. What it compares with is bound here, so the file cannot swap it through the
    module (one that replaced this module's comparison with one that finds nothing passed)."""
    fingerprint, rebound, closed = _fingerprint, frozenset(_REBOUND_BY_TORCH), frozenset(_CLOSED)
    before = fingerprint()

    def same(old, new) -> bool:
        # the same object; for a collection's contents, recorded as text, the same text; for a
        # function's insides, the same objects
        if isinstance(old, tuple) and isinstance(new, tuple):
            return len(old) == len(new) and all(a is b for a, b in zip(old, new))
        return old is new or (isinstance(old, str) and old == new)

    def check() -> None:
        after = fingerprint()
        changed = [key for key in before if key[:2] not in rebound
                   and (key not in after or not same(before[key], after[key]))]  # gone counts: hidden
        added = [key for key in after.keys() - before.keys() if key[0] in closed and key[:2] not in rebound]
        if changed or added:
            name = ".".join(k for k in (changed + added)[0] if not k.startswith("<"))
            raise NasError(f"{path} changed nas's or torch's own code ({name}); nas cannot trust {doing()} a "
                           "model that patches it")
    return check


@contextmanager
def _memory_limit(megabytes: int, lasting: bool, path: str):
    """At most `megabytes` more address space than is taken now, while the file at `path` is
    judged. `lasting`: for good, the hard limit too; else until the block ends (training, on a GPU
    above all, needs far more)."""
    import resource

    before = None
    try:
        with open("/proc/self/statm") as statm:  # address space already taken, in pages
            taken = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = taken + megabytes * 2**20
        before = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit if lasting else before[1]))
    except (OSError, ValueError):
        pass  # no /proc or no rlimit here: judged without a memory limit
    try:
        yield
    finally:
        if before is not None:
            # a soft limit can be raised by the file itself: one that changed it is not judged
            if resource.getrlimit(resource.RLIMIT_AS) != (limit, limit if lasting else before[1]):
                raise NasError(f"{path} changed the memory limit it is judged under (RLIMIT_AS); nas cannot "
                               "judge a model that changes it")
            if not lasting:
                resource.setrlimit(resource.RLIMIT_AS, before)


class _Channel:
    """The child's end of the message pipe: one line of JSON per message, each with the token."""

    def __init__(self, fd: int, token: str):
        self.fd, self.token, self.sent = fd, token, 0.0

    def send(self, message: dict) -> None:
        data = json.dumps({"token": self.token, **message}).encode() + b"\n"
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:  # the parent is gone (killed, say): so is the point of going on
            os._exit(1)
        self.sent = time.monotonic()

    def beat(self) -> None:
        """A step ended: say so, at most once a second."""
        if time.monotonic() - self.sent >= 1:
            self.send({"beat": "step"})


# Each task returns its result message, and what to write once nothing is found tampered with;
# it runs the tamper check (the last argument) before each check of the model and after each epoch
Task = Callable[[dict, Rules, _Channel, Callable[[], None]], tuple[dict, Callable[[], None] | None]]


def _judge(request: dict, rules: Rules, tamper_check: Callable[[], None]) -> Report:
    """The validator's report, the model built on the CPU within the memory limit (for good when
    judging is the task; training needs more); judging, the model is recorded too."""
    from nas import validator
    from nas.config import Recipe
    from nas.modelfile import load_model
    from nas.train import build_seeded

    with _memory_limit(request["memory_mb"], lasting=request["task"] == "judge", path=request["path"]):
        # built as `nas train` builds it (torch seeds itself at random otherwise): the same file
        # gets the same weights, so the same verdict and report, on every run
        model = build_seeded(lambda: load_model(request["path"], request["name"]), Recipe().seed)
        tamper_check()  # what the file's import left patched, before the check that it could fake
        report = validator.check(model, rules, tuple(request["batch_sizes"]))
        if request["task"] == "judge":
            _record(model, request, rules, Path(request["record"]))
        return report


def _record(model, request: dict, rules: Rules, folder: Path, eval_images: int = 0) -> None:
    """Record the model (nas.graph.record) for nas's own process, in both modes, at the batch sizes
    it is judged at and at those it is measured at, `eval_images` in batches of EVAL_BATCH on the
    CPU (where nas's process measures it, and checks every graph)."""
    from nas import graph
    from nas.train import EVAL_BATCH

    chunk = EVAL_BATCH["cpu"]
    batches = sorted(set(request["batch_sizes"]) | {min(chunk, eval_images), eval_images % chunk} - {0})
    model.to("cpu")
    graph.record(model, [(mode, b) for mode in (True, False) for b in batches], rules.input_shape, folder)


def _factory(request: dict, channel: _Channel) -> Callable:
    """Builds the file's model; each build starts a training, which may take STARTUP_SECONDS."""
    from nas.modelfile import load_model

    def make_model():
        channel.send({"beat": "start"})
        return load_model(request["path"], request["name"])
    return make_model


def _train(request: dict, rules: Rules, channel: _Channel,
           tamper_check: Callable[[], None]) -> tuple[dict, Callable[[], None] | None]:
    from nas.config import Recipe
    from nas.data import load_train_val
    from nas.modelfile import model_faults
    from nas.train import atomic_write, build_seeded, state_bytes, train

    recipe = Recipe(**request["recipe"])
    with model_faults(request["path"], "training"):
        model = build_seeded(_factory(request, channel), recipe.seed)
        train_data, val_data = load_train_val(request["data_dir"], request["subset"], request["val_subset"])
        result = train(model, train_data, val_data, recipe, rules, request["device"],
                       on_epoch=lambda stats: channel.send({"epoch": asdict(stats)}), on_step=channel.beat,
                       tamper_check=tamper_check)
        _record(model, request, rules, Path(request["record"]), len(val_data) if val_data is not None else 0)
    # the weights for --out, to the recording's folder: nas's own process writes the run once it
    # has measured what was recorded
    save = (lambda: atomic_write(Path(request["record"]) / WEIGHTS, state_bytes(model))) if request["out"] else None
    return {"result": result.to_dict(), "model": type(model).__name__}, save


def _final_test(request: dict, rules: Rules, channel: _Channel, tamper_check: Callable[[], None]) -> tuple[dict, None]:
    from nas.config import Recipe
    from nas.final_test import final_test_model
    from nas.modelfile import model_faults

    def tested(seed: int, model, images: int) -> None:
        _record(model, request, rules, Path(request["record"]) / f"seed{seed}", images)

    with model_faults(request["path"], "training"):
        result = final_test_model(_factory(request, channel), Recipe(**request["recipe"]), request["seeds"],
                                  request["path"], rules, request["device"], request["data_dir"], request["subset"],
                                  on_step=channel.beat, tamper_check=tamper_check,
                                  on_epoch=lambda stats: channel.send({"epoch": asdict(stats)}), on_tested=tested)
    return {"result": result.to_dict()}, None


_TASKS: dict[str, Task] = {"train": _train, "final-test": _final_test}  # after judging


def _child(fd: int) -> None:
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    channel = _Channel(fd, request.pop("token"))
    path, task = request["path"], request["task"]
    # the task's modules (nas.train imports the validator) before the file, so they are fingerprinted;
    # only a final test needs the other (it imports optuna: half a second)
    importlib.import_module("nas.final_test" if task == "final-test" else "nas.train")
    rules = Rules(**(request["rules"] | {"input_shape": tuple(request["rules"]["input_shape"])}))
    doing = "judging"
    tamper_check = _tamper_check(path, lambda: doing)  # before the file runs
    try:
        report = _judge(request, rules, tamper_check)
        if task == "judge":
            message, save = {"report": report.to_dict()}, None
        elif not report.ok:  # not trained
            raise RulesBroken(report)
        else:
            doing = _DOING[task][0]
            message, save = _TASKS[task](request, rules, channel, tamper_check)
            message["report"] = report.to_dict()  # what nas's own process checks the recording against
        tamper_check()
        if save is not None:  # only a run nothing tampered with is written
            save()
    except RulesBroken as exc:  # the check on the training device, before or after training
        message = {"broken": exc.report.to_dict(), "after_training": exc.after_training}
    except NasError as exc:
        if request["debug"]:
            traceback.print_exc()
        message = {"error": str(exc)}
    except MemoryError:
        limit = f" (limit {request['memory_mb']:,} MB on top of torch)" if doing == "judging" else ""
        message = {"error": f"{path} ran out of memory while {doing}{limit}; make the model smaller"}
    except SystemExit as exc:
        message = {"error": str(exited(path, exc, "being judged" if doing == "judging" else doing))}
    except BaseException as exc:  # anything else the file raised through nas's own handling
        if request["debug"]:
            traceback.print_exc()
        message = {"error": f"{doing} {path} raised {type(exc).__name__}; run with --debug to see why"}
    channel.send(message)
    os._exit(0)  # now: no atexit handler or thread of the file's runs after the result


if __name__ == "__main__":
    _child(int(sys.argv[1]))
