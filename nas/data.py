"""MNIST as uint8 tensors, and the fixed train/validation split every trial shares.

The 10,000 test images are loaded only by final evaluation, never for ranking.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import math
import os
import shlex
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from nas.errors import NasError, describe

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
VAL_SIZE = 10_000  # held out of the 60,000 training images for ranking
TRAIN_IMAGES = 60_000 - VAL_SIZE  # what trains in a search
SPLIT_SEED = 0  # fixed, so every trial and every run sees the same split
MEAN, STD = 0.1307, 0.3081  # MNIST pixel statistics, for normalization on the device


def data_dir(explicit: str | Path | None = None) -> Path:
    """--data-dir, else $NAS_DATA_DIR, else ./data."""
    return Path(explicit or os.environ.get("NAS_DATA_DIR") or "data")


def _read_idx(raw: Path, name: str) -> torch.Tensor | None:
    """One IDX file (MNIST's format: a magic number, big-endian dimensions, then uint8 data),
    read from NAME or NAME.gz; None when neither exists."""
    for path, opener in ((raw / name, open), (raw / f"{name}.gz", gzip.open)):
        if path.exists():
            try:
                with opener(path, "rb") as f:
                    data = bytearray(f.read())
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:  # truncated, not gzip, corrupt
                raise NasError(f"{path} cannot be read ({type(exc).__name__}: {exc}); copy it again") from None
            ndim = data[3] if len(data) >= 4 else 0
            header = 4 + 4 * ndim
            dims = struct.unpack(f">{ndim}I", data[4:header]) if len(data) >= header else ()
            if not dims or len(data) != header + math.prod(dims):
                raise NasError(f"{path} is damaged ({len(data):,} bytes, shape {dims or 'unreadable'}); "
                               "copy it again")
            return torch.frombuffer(data, dtype=torch.uint8, offset=header).view(*dims)
    return None


@functools.lru_cache(maxsize=4)
def _load(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = "train" if train else "t10k"
    raw = root / "MNIST" / "raw"
    images, labels = _read_idx(raw, f"{prefix}-images-idx3-ubyte"), _read_idx(raw, f"{prefix}-labels-idx1-ubyte")
    if images is not None and labels is not None:  # read directly: importing torchvision costs a second
        return _checked(raw, prefix, images, labels.long())
    if not root.is_dir():  # torchvision would create it: a mistyped --data-dir must not become a folder
        there = f"--data-dir {shlex.quote(str(root))}"  # so that `nas data` fills this folder, not ./data
        raise NasError(f"the data directory {root} does not exist; `nas data {there}` puts MNIST there (a "
                       f"download; offline: `nas data {there} --from DIR`, a folder with {', '.join(MNIST_FILES)}), "
                       "or pass --data-dir / set NAS_DATA_DIR to where they are")
    import torchvision

    try:
        # torchvision reports download progress on stdout; keep stdout for our own output
        with contextlib.redirect_stdout(sys.stderr):
            ds = torchvision.datasets.MNIST(str(root), train=train, download=True)
    except Exception as exc:
        raise NasError(f"MNIST is not in {raw} and could not be downloaded "
                       f"({_download_error(exc)}); put {', '.join(MNIST_FILES)} there (offline: `nas data "
                       "--from DIR` copies them from a folder), or pass --data-dir / set NAS_DATA_DIR") from exc
    return _checked(raw, prefix, ds.data, ds.targets)


def _download_error(exc: Exception) -> str:
    """Why torchvision could not download: its message names each mirror it tried on lines of their
    own, then what each answered ("got:" and the next line); the first answer is the network's."""
    lines = [line.strip() for line in str(exc).splitlines()]
    answers = [after for line, after in zip(lines, lines[1:]) if line.endswith("got:") and after]
    return f"{type(exc).__name__}: {answers[0]}" if answers else describe(exc)


def _checked(raw: Path, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair, if it is one: N 28×28 images and N labels from 0 to 9."""
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise NasError(f"{raw}/{prefix}-images-idx3-ubyte holds shape {tuple(images.shape)}, not N×28×28 "
                       "images; copy the MNIST files again")
    if labels.dim() != 1 or len(labels) != len(images) or (len(labels) and int(labels.max()) > 9):
        shape = tuple(labels.shape)
        highest = int(labels.max()) if labels.numel() else None
        raise NasError(f"{raw}/{prefix}-labels-idx1-ubyte does not match its images ({shape} labels, highest "
                       f"{highest}, for {len(images):,} images of digits 0-9); copy the MNIST files again")
    return images, labels


@dataclass
class Split:
    """Images (N×28×28 uint8) and labels (N int64) of one part of MNIST."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> "Split":
        """The first n examples (all when n is None)."""
        if n is None:
            return self
        if not 0 < n <= len(self):
            raise NasError(f"subset {n:,} is out of range; use 1 to {len(self):,}")
        return Split(self.images[:n], self.labels[:n])


def split_indices() -> tuple[torch.Tensor, torch.Tensor]:
    """Indices into MNIST's 60,000 training images: (train 50,000, validation 10,000)."""
    order = torch.randperm(60_000, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[:-VAL_SIZE], order[-VAL_SIZE:]


def load_train_val(root: str | Path | None = None, subset: int | None = None,
                   val_subset: int | None = None) -> tuple[Split, Split]:
    """The fixed 50,000 / 10,000 split of MNIST's training images.

    `subset` keeps the first N training examples, `val_subset` the first N validation ones.
    """
    images, labels = _load(data_dir(root).resolve(), True)
    train_idx, val_idx = split_indices()
    train = Split(images[train_idx], labels[train_idx]).head(subset)
    val = Split(images[val_idx], labels[val_idx]).head(val_subset)
    return train, val


def load_all_train(root: str | Path | None = None, subset: int | None = None) -> Split:
    """All 60,000 training images (for final evaluation, which retrains on everything)."""
    return Split(*_load(data_dir(root).resolve(), True)).head(subset)


def load_test(root: str | Path | None = None) -> Split:
    """MNIST's 10,000 test images: for final evaluation only."""
    return Split(*_load(data_dir(root).resolve(), False))


@dataclass
class PlacedData:
    """Where `nas data` put MNIST, and how: "copied", "downloaded" or "already there"."""

    raw: Path
    how: str


def place_mnist(root: str | Path | None = None, source: str | Path | None = None) -> PlacedData:
    """Put the four MNIST files into ROOT/MNIST/raw: copied from `source` (a folder holding them,
    directly or under MNIST/raw), else downloaded by torchvision when they are not there yet."""
    raw = data_dir(root) / "MNIST" / "raw"
    if source is None:
        if all((raw / name).exists() for name in MNIST_FILES):
            return PlacedData(raw, "already there")
        # making the data directory is what this command is for (a fresh clone has none);
        # the commands that only read MNIST refuse a missing one instead
        data_dir(root).mkdir(parents=True, exist_ok=True)
        for train in (True, False):  # torchvision downloads every file at the first missing one
            _load(data_dir(root).resolve(), train)
        return PlacedData(raw, "downloaded")
    source = Path(source)
    found = next((d for d in (source, source / "MNIST" / "raw") if all((d / n).is_file() for n in MNIST_FILES)), None)
    if found is None:
        raise NasError(f"{source} does not hold the MNIST files ({', '.join(MNIST_FILES)}), directly or in "
                       "MNIST/raw; pass the folder that does")
    raw.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        shutil.copyfile(found / name, raw / name)
    return PlacedData(raw, f"copied from {found}")
