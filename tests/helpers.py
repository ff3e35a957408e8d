"""Shared helpers for the tests: paths, the real CLI in-process, and waiting on a condition.

Test modules import these (`from helpers import ...`); conftest.py holds only fixtures.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, TypeVar

from typer.testing import CliRunner

from nas.cli import app

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "models"
# The tests use the real MNIST: $NAS_DATA_DIR, else the project's ./data (what .ci/run fills).
os.environ.setdefault("NAS_DATA_DIR", str(ROOT / "data"))

T = TypeVar("T")


def run_nas(*args: str):
    """Run `nas ARGS...` in-process and return typer's Result (stdout and stderr apart)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def run_json(*args: str) -> tuple[int, dict]:
    result = run_nas(*args, "--json")
    assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr}"
    return result.exit_code, json.loads(result.stdout)


def wait_until(condition: Callable[[], T], what: str, timeout: float = 240, interval: float = 0.2) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail the test naming
    `what` if the deadline passes first. For waits on another process: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)
