"""Seconds per epoch: the conventional PyTorch recipe against our trainer, in one run.

(a) conventional: torchvision's MNIST Dataset with per-image transforms (RandomAffine, ToTensor,
    Normalize) and a DataLoader, float32, `loss.item()` each step;
(b) `nas.train.train` with the step called from Python: data resident on the device, batched
    augmentation there, one host sync per epoch, bf16 autocast where the device computes in bf16
    natively (CUDA; CPUs with AVX512-BF16 or AMX), channels_last on CUDA;
(c) on CUDA, the same with the whole train step captured as one CUDA graph (the default); on the
    CPU, with forward and loss compiled by torch.compile (the default for runs of 400,000 images
    or more), its cold first compile counted as a 20-epoch trial spreads it.
All train the 14,770-param reference net (tests/models/seed_net.py) on the same 50,000-image
split at the same batch size with the same optimizer and learning-rate schedule. Where
--accuracy-seeds > 0 (the default on a GPU), the default trainer also runs whole 20-epoch trials,
one per seed: each is timed end to end (data load included, process start excluded) and its
model's test accuracy reported.

    python benchmarks/bench_train.py [--epochs-timed 3] [--accuracy-seeds 3] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).parent))
from record import median, record  # noqa: E402

from nas import data  # noqa: E402
from nas.data import MEAN, STD, data_dir, load_test, load_train_val, split_indices  # noqa: E402
from nas.modelfile import load_model  # noqa: E402
from nas.train import Recipe, measure, precision, resolve_device, to_device, train  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "models" / "seed_net.py"


def reference_net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return load_model(REFERENCE)


def conventional_epochs(epochs: int, batch_size: int, device: torch.device) -> list[float]:
    """Seconds per epoch of the textbook Dataset + DataLoader loop."""
    transform = transforms.Compose([transforms.RandomAffine(degrees=10, translate=(0.1, 0.1)),
                                    transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    dataset = torchvision.datasets.MNIST(str(data_dir()), train=True, transform=transform, download=True)
    loader = DataLoader(Subset(dataset, split_indices()[0].tolist()), batch_size=batch_size, shuffle=True,
                        num_workers=min(4, os.cpu_count() or 1), pin_memory=device.type == "cuda",
                        drop_last=True, persistent_workers=True)
    model = reference_net(0).to(device)
    recipe = Recipe(epochs=epochs, batch_size=batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.peak_lr, momentum=0.9, nesterov=True,
                                weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.peak_lr, total_steps=len(loader) * epochs,
                                                   pct_start=0.25, cycle_momentum=False)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        running = 0.0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-timed", type=int, default=3, help="epochs timed for each recipe")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--accuracy-seeds", type=int, default=None,
                        help="20-epoch trials of the default trainer, timed and tested; default 3 on a GPU, 0 on the CPU")
    args = parser.parse_args()
    device = resolve_device(args.device)
    seeds = args.accuracy_seeds if args.accuracy_seeds is not None else (3 if device.type == "cuda" else 0)
    train_data, val_data = load_train_val()
    recipe = Recipe(epochs=args.epochs_timed, batch_size=args.batch_size)

    def seconds_per_epoch(cuda_graph: bool, compile: bool = False) -> float:
        """The median epoch; compiled, plus the first epoch's compile time spread over 20 epochs,
        as a 20-epoch trial of a new architecture pays it (inductor's cache starts empty)."""
        result = train(reference_net(0), train_data, val_data, recipe, device=device, cuda_graph=cuda_graph,
                       compile=compile)
        seconds = [e.train_seconds for e in result.history]
        if not compile:
            return median(seconds)
        return median(seconds[1:]) + (seconds[0] - median(seconds[1:])) / 20

    if device.type == "cpu":  # a cold compile, as for each new candidate of a search
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="nas-bench-inductor-")
    conventional_s = median(conventional_epochs(args.epochs_timed, args.batch_size, device))
    ours = {"(b) nas trainer, step called from Python": seconds_per_epoch(cuda_graph=False)}
    if device.type == "cuda":
        ours["(c) nas trainer, step as one CUDA graph (default)"] = seconds_per_epoch(cuda_graph=True)
    else:
        ours["(c) nas trainer, forward+loss compiled, compile amortized over 20 epochs (default for long runs)"] = \
            seconds_per_epoch(cuda_graph=False, compile=True)
    rows = [{"recipe": "(a) Dataset + per-image transforms + DataLoader", "batch": args.batch_size,
             "median s/epoch": f"{conventional_s:.2f}", "speed-up": "1.0×"}]
    rows += [{"recipe": name, "batch": args.batch_size, "median s/epoch": f"{seconds:.3f}",
              "speed-up": f"{conventional_s / seconds:.1f}×"} for name, seconds in ours.items()]

    if seeds:
        test_x, test_y = to_device(load_test(), device)
        accuracies, trial_seconds = [], []
        for seed in range(seeds):
            model = reference_net(seed)
            data._load.cache_clear()  # read the files in every trial, as a fresh worker process does
            start = time.perf_counter()  # a trial as the search runs it: load, move, train, validate
            train(model, *load_train_val(), Recipe(epochs=20, batch_size=args.batch_size, seed=seed), device=device)
            trial_seconds.append(time.perf_counter() - start)
            accuracies.append(measure(model, test_x, test_y)[1])
        for row in rows:
            row["20-epoch trial s"] = row["20-epoch test acc"] = "not run"
        rows[-1]["20-epoch trial s"] = f"{median(trial_seconds):.1f} (median of {seeds})"
        rows[-1]["20-epoch test acc"] = (f"{statistics.mean(accuracies):.2%} mean of {seeds} seeds "
                                         f"({', '.join(f'{a:.2%}' for a in accuracies)})")

    name = f"train-{'gpu' if device.type == 'cuda' else 'cpu'}"
    record(name, rows, notes=f"median of {args.epochs_timed} timed epochs each ((c): of the epochs after the "
                             "first, which compiles) (training steps only, "
                             f"validation excluded); reference net 14,770 params; (a) float32, (b) and (c) "
                             f"{precision(device)}; torch threads "
                             f"{torch.get_num_threads()}")


if __name__ == "__main__":
    main()
