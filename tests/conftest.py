"""Shared fixtures: the real CLI through typer's CliRunner, and the test model files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nas.cli import app

MODELS = Path(__file__).parent / "models"


def run_nas(*args: str):
    """Run `nas ARGS...` in-process and return typer's Result (stdout and stderr apart)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def run_json(*args: str) -> tuple[int, dict]:
    result = run_nas(*args, "--json")
    assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr}"
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def models() -> Path:
    return MODELS
