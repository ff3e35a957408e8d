"""Shared fixtures: the test model files, MNIST, PostgreSQL. Shared helpers are in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

# pytest-xdist runs the tests in one process per core (pyproject.toml): each gets its share of
# the cores, set before torch is first imported; processes that each train on every core slow
# one another down (measured: 5x, two 2-thread searches on 2 cores)
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

import pytest  # noqa: E402  (after the thread count)

from helpers import MODELS  # noqa: E402


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
