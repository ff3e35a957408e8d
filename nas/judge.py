"""Judge a model file in a process of its own, with a time limit and a memory limit.

A model file is Python: it may exit, loop forever, eat memory, print, or patch nas itself. So
the file is imported and checked in a child process (`python -m nas.judge`). The parent never
imports the file or torch; it maps what happened to an outcome: a report from the child is the
verdict; anything else (an exit, a signal, the time or memory limit, a garbled answer) means the
model cannot be judged, one line, exit 2. The child answers on a pipe of its own, with a token
it was given on stdin before the file was imported, so text the file prints cannot pass for a
verdict; and it refuses to answer when the file has changed nas's or torch's own functions.

This stops accidents and plain cheats; a file written to attack the judging process itself
could still fool it. A leaderboard should judge submissions on a machine of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from nas.errors import NasError
from nas.modelfile import check_source_path, exited
from nas.rules import Report, Rules

TIMEOUT_SECONDS = 60.0
MAX_TIMEOUT_SECONDS = 86_400  # a day: a longer wait is a typo, not a model
MEMORY_MB = 4096  # on top of what importing torch takes


def judge_file(path: str | Path, name: str | None = None, rules: Rules = Rules(),
               batch_sizes: tuple[int, ...] | None = None, timeout: float = TIMEOUT_SECONDS,
               memory_mb: int = MEMORY_MB, debug: bool = False) -> Report:
    """The validator's report on the model a file defines, reached in a child process.

    Raises NasError when the model cannot be judged: the file is not a Python source file, it
    cannot be imported or built, its forward raises, or the process exits, is killed, or runs
    past `timeout` seconds or `memory_mb` MB.
    """
    path = check_source_path(path)
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:  # NaN fails too; inf and 1e300 overflow the clock's arithmetic
        raise NasError(f"--timeout {timeout:g} must be a number of seconds above 0 and at most "
                       f"{MAX_TIMEOUT_SECONDS:,}; give the seconds a model may take to be judged")
    token = secrets.token_hex(16)
    request = {"path": str(path), "name": name, "rules": asdict(rules), "batch_sizes": batch_sizes,
               "memory_mb": memory_mb, "token": token}
    read_end, write_end = os.pipe()
    env = os.environ | {"CUDA_VISIBLE_DEVICES": ""}  # judged on the CPU, the same everywhere
    with tempfile.TemporaryFile() as chatter:  # whatever the file prints; shown with --debug
        try:
            child = subprocess.Popen([sys.executable, "-m", "nas.judge", str(write_end)], stdin=subprocess.PIPE,
                                     stdout=chatter, stderr=chatter, pass_fds=(write_end,),
                                     start_new_session=True, env=env)
        finally:
            os.close(write_end)
        try:
            child.stdin.write(json.dumps(request).encode())
            child.stdin.close()
        except BrokenPipeError:
            pass
        answer, timed_out = _read_answer(read_end, child, timeout)
        if debug:
            chatter.seek(0)
            sys.stderr.write(chatter.read().decode(errors="replace"))
    if timed_out:
        raise NasError(f"{path} was not judged within {timeout:g} s (an import or a forward pass that never "
                       "returns?); fix the model, or raise --timeout")
    return _outcome(path, answer, child.returncode, token, memory_mb)


def _read_answer(fd: int, child: subprocess.Popen, timeout: float) -> tuple[bytes, bool]:
    """Everything the child writes on its pipe, until it closes; (answer, whether time ran out)."""
    import selectors

    deadline = time.monotonic() + timeout
    chunks = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    _kill(child)
                    return b"", True
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if sum(map(len, chunks)) > 64 * 2**20:  # no report is this big
                    _kill(child)
                    break
        finally:
            os.close(fd)
    try:
        child.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        _kill(child)
        return b"", True
    return b"".join(chunks), False


def _kill(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)  # the whole group: threads and any process the file started
    except ProcessLookupError:
        pass
    child.wait()


def _outcome(path: Path, answer: bytes, returncode: int, token: str, memory_mb: int) -> Report:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = f" (over the {memory_mb:,} MB memory limit?)" if name in ("SIGKILL", "SIGSEGV", "SIGABRT") else ""
        raise NasError(f"judging {path} was stopped by {name}{hint}; the model file must not kill or crash the "
                       "process that checks it")
    try:
        message = json.loads(answer.decode())
        assert isinstance(message, dict) and message.get("token") == token
    except (ValueError, UnicodeDecodeError, AssertionError):
        if not answer:
            raise NasError(f"{path} ended the process that checks it (exit code {returncode}) before a verdict; "
                           "a model file must not call sys.exit or os._exit") from None
        raise NasError(f"{path} wrote to the channel nas's verdict comes on; nas cannot judge it") from None
    if returncode != 0:
        raise NasError(f"{path} ended the process that checks it with exit code {returncode}; a model file "
                       "must not exit")
    if "error" in message:
        raise NasError(message["error"])
    return Report.from_dict(message["report"])


# -- the child -----------------------------------------------------------------------------------

_WATCHED = ("torch", "torch.nn.modules.module", "torch.utils._python_dispatch", "torch.utils._pytree",
            "torch.nn.functional", "torch.autograd", "math", "builtins", "operator", "os", "json", "functools")


def _fingerprint() -> dict:
    """Identity of every function and class attribute in nas and in the torch machinery the
    check relies on, so that a file that swaps one can be caught."""
    import torch

    found = {}
    modules = [m for n, m in list(sys.modules.items()) if n == "nas" or n.startswith("nas.") or n in _WATCHED]
    for module in modules:
        for attribute, value in list(vars(module).items()):
            found[(module.__name__, attribute)] = id(value)
            if isinstance(value, (set, frozenset, dict, list, tuple)) and module.__name__.startswith("nas"):
                found[(module.__name__, attribute, "contents")] = repr(sorted(map(repr, value)))
            if isinstance(value, type) and (value.__module__ or "").startswith("nas"):
                for key, member in list(vars(value).items()):
                    found[(module.__name__, attribute, key)] = id(member)
    for cls in (torch.Tensor, torch.nn.Module, torch.nn.Parameter):
        for key, member in list(vars(cls).items()):
            found[(cls.__name__, key)] = id(member)
    return found


# torch itself rebinds this when torch._dynamo is first imported (a model using torch.compile);
# the check draws a fresh random seed per model, so a patched seeding cannot make a model pass
_REBOUND_BY_TORCH = {("torch", "manual_seed")}


def _changed(before: dict, after: dict) -> list[str]:
    return [".".join(key) for key in before.keys() & after.keys()
            if before[key] != after[key] and key not in _REBOUND_BY_TORCH]


def _limit_memory(megabytes: int) -> None:
    import resource

    with open("/proc/self/statm") as statm:  # address space already taken, in pages
        taken = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = taken + megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child(fd: int) -> None:
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    token = request.pop("token")
    from nas import validator  # noqa: F401  (imported before the file, so it is fingerprinted)
    from nas.config import Recipe
    from nas.modelfile import load_model
    from nas.train import build_seeded

    rules = Rules(**(request["rules"] | {"input_shape": tuple(request["rules"]["input_shape"])}))
    batch_sizes = tuple(request["batch_sizes"] or validator.DEFAULT_BATCHES)
    try:
        _limit_memory(request["memory_mb"])
    except (OSError, ValueError):
        pass  # no /proc or no rlimit here: judged without a memory limit
    before = _fingerprint()
    try:
        # built as `nas train` builds it (torch seeds itself at random otherwise): the same file
        # gets the same weights, so the same verdict and report, on every run
        model = build_seeded(lambda: load_model(request["path"], request["name"]), Recipe().seed)
        report = validator.check(model, rules, batch_sizes)
        changed = _changed(before, _fingerprint())
        if changed:
            raise NasError(f"{request['path']} changed nas's or torch's own code ({changed[0]}); nas cannot "
                           "judge a model that patches its checker")
        message = {"report": report.to_dict()}
    except NasError as exc:
        traceback.print_exc()  # shown by --debug
        message = {"error": str(exc)}
    except MemoryError:
        message = {"error": f"{request['path']} ran out of memory while being judged (limit "
                            f"{request['memory_mb']:,} MB on top of torch); make the model smaller"}
    except SystemExit as exc:
        message = {"error": str(exited(request["path"], exc, "being judged"))}
    except BaseException as exc:  # anything else the file raised through nas's own handling
        traceback.print_exc()
        message = {"error": f"judging {request['path']} raised {type(exc).__name__}; run with --debug to see why"}
    data = json.dumps({"token": token, **message}).encode()
    while data:
        data = data[os.write(fd, data):]
    os._exit(0)  # now: no atexit handler or thread of the file's runs after the verdict


if __name__ == "__main__":
    _child(int(sys.argv[1]))
