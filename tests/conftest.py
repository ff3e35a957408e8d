"""Shared fixtures: the real CLI through typer's CliRunner, and the test model files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nas.cli import app

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "models"
# The tests use the real MNIST: $NAS_DATA_DIR, else the project's ./data (what .ci/run fills).
os.environ.setdefault("NAS_DATA_DIR", str(ROOT / "data"))


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


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The data directory holding the four MNIST files; tests that need it are skipped without it."""
    from nas.data import MNIST_FILES, data_dir

    root = data_dir()
    missing = [f for f in MNIST_FILES if not (root / "MNIST" / "raw" / f).exists()]
    if missing:
        pytest.skip(f"needs MNIST, not in {root.resolve()}/MNIST/raw: run `nas data` (online) or "
                    "`nas data --from DIR` (a folder with the four .gz files), or set NAS_DATA_DIR")
    return root


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL storage URL (.ci/start-postgres makes one); the test is skipped without it."""
    url = os.environ.get("NAS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: run `.ci/start-postgres` as root and export NAS_TEST_POSTGRES_URL")
    return url
