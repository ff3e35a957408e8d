"""Shared fixtures: the test model files, MNIST, PostgreSQL. Shared helpers are in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import MODELS


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
