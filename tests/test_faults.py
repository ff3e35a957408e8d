"""Bad input and faults: one line on stderr saying what is wrong and what to do, exit 2, no traceback."""

from __future__ import annotations

import gzip
import struct

import pytest

from conftest import MODELS, run_nas

QUICK = ["--epochs", "1", "--subset", "500", "--val-subset", "500", "--device", "cpu"]


def one_line_error(result, *words: str) -> str:
    """The error line of a command that must have failed cleanly, after checking it is one."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def data_copy(mnist_dir, tmp_path, **replaced: bytes):
    """A data directory with the real training files, some replaced: {file stem: contents}."""
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        stem = name.split("-")[1]
        if stem in replaced:
            (raw / name).write_bytes(replaced[stem])
        else:
            (raw / f"{name}.gz").symlink_to(mnist_dir / "MNIST" / "raw" / f"{name}.gz")
    return tmp_path / "data"


def real_gz(mnist_dir, name: str) -> bytes:
    return (mnist_dir / "MNIST" / "raw" / f"{name}.gz").read_bytes()


def _truncated(gz: bytes) -> bytes:
    return gz[:len(gz) // 2]


def _not_gzip(gz: bytes) -> bytes:
    return b"this is not a gzip file" * 100


def _corrupt(gz: bytes) -> bytes:
    middle = len(gz) // 2
    return gz[:middle] + bytes(b ^ 0xFF for b in gz[middle:middle + 64]) + gz[middle + 64:]


@pytest.mark.parametrize("damage", [_truncated, _not_gzip, _corrupt])
def test_a_damaged_gz_file_exits_2_with_one_line(mnist_dir, tmp_path, damage):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(damage(real_gz(mnist_dir, "train-images-idx3-ubyte")))
    (raw / "train-labels-idx1-ubyte.gz").symlink_to(mnist_dir / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz")
    result = run_nas("train", MODELS / "seed_net.py", *QUICK, "--data-dir", tmp_path)
    one_line_error(result, "train-images-idx3-ubyte.gz", "copy it again")


def _labels(values: bytes) -> bytes:
    """An IDX label file (magic 0x801, one dimension) holding `values`."""
    return struct.pack(">II", 0x801, len(values)) + values


@pytest.mark.parametrize("labels, words", [
    (lambda real: _labels(real[8:-1]), "(59999,) labels"),  # one label short
    (lambda real: _labels(real[8:-1] + b"\x0c"), "highest 12"),  # a label that is no digit
])
def test_labels_that_do_not_match_the_images_exit_2(mnist_dir, tmp_path, labels, words):
    real = gzip.decompress(real_gz(mnist_dir, "train-labels-idx1-ubyte"))
    data = data_copy(mnist_dir, tmp_path, labels=labels(real))
    result = run_nas("train", MODELS / "seed_net.py", *QUICK, "--data-dir", data)
    one_line_error(result, "does not match its images", words, "copy the MNIST files again")


def test_a_missing_data_dir_is_not_created(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    result = run_nas("train", MODELS / "seed_net.py", *QUICK, "--data-dir", missing)
    one_line_error(result, "does not exist", "train-images-idx3-ubyte.gz")
    assert not (tmp_path / "no").exists()
