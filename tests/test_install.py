"""nas as a user installs it: a wheel in a fresh environment (not editable), run from elsewhere."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig

import pytest

from helpers import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """bin/ of a fresh venv with nas installed from a wheel; nothing is downloaded.

    The venv sees this interpreter's packages (torch, optuna...) through a .pth file, as
    --system-site-packages would for a system Python; the wheel is built from a copy of the
    source, so the checkout gets no build/ folder.
    """
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    for name in ("nas", "search_spaces"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    run = dict(check=True, capture_output=True, text=True, env=_env_without_checkout())
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                    str(root / "dist"), str(src)], **run)
    subprocess.run([sys.executable, "-m", "venv", str(root / "env")], **run)
    env_python = root / "env" / "bin" / "python"
    purelib = subprocess.run([env_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             **run).stdout.strip()
    ours = [p for p in site.getsitepackages() + [sysconfig.get_path("purelib")] if os.path.isdir(p)]
    (root / "env" / purelib / "parent.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
    wheel = next((root / "dist").glob("nas-*.whl"))
    subprocess.run([env_python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], **run)
    return root / "env" / "bin"


def _env_without_checkout() -> dict:
    """This environment without PYTHONPATH, so only installed code is imported."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def nas(bin_dir, cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([bin_dir / "nas", *args], cwd=cwd, capture_output=True, text=True,
                          env=_env_without_checkout(), timeout=300)


def test_the_installed_wheel_lists_spaces_and_searches_from_any_folder(installed, mnist_dir, tmp_path):
    where = subprocess.run([installed / "python", "-c", "import nas, search_spaces; print(nas.__file__); "
                            "print(search_spaces.__file__)"], cwd=tmp_path, capture_output=True, text=True,
                           env=_env_without_checkout())
    assert all(str(installed.parent) in line for line in where.stdout.splitlines()), where  # not the checkout

    listed = nas(installed, tmp_path, "spaces")
    assert listed.returncode == 0, listed.stderr
    assert all(name in listed.stdout for name in ("default", "tiny", "wide"))

    found = nas(installed, tmp_path, "search", "--trials", "1", "--epochs", "1", "--subset", "500",
                "--val-subset", "1000", "--device", "cpu", "--space", "tiny")
    assert found.returncode == 0, found.stderr
    assert "1 trial trained" in found.stdout
    assert (tmp_path / "results" / "nas.db").is_file()


def test_a_users_own_space_imports_a_shipped_one(installed, tmp_path):
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "mine.py").write_text(
        '"""My space: the default family, narrow."""\n'
        "from search_spaces.default import family\n\n"
        "def suggest(trial, rules):\n    return family(trial, rules, widths=(4, 8))\n")
    listed = nas(installed, tmp_path, "spaces")
    assert listed.returncode == 0, listed.stderr
    assert "My space: the default family, narrow." in listed.stdout and "tiny" in listed.stdout
