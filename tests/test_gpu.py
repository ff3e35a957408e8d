"""The CUDA path: the train step captured as one CUDA graph, its fallback, and workers on a GPU.

Skipped where there is no CUDA GPU (CI); run on the device machine with `pytest tests/test_gpu.py`.
"""

from __future__ import annotations

import json

import pytest
import torch

from helpers import MODELS, run_nas
from nas.data import load_train_val
from nas.modelfile import load_model
from nas.train import Recipe, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _train(model_file: str, cuda_graph: bool = True, **recipe):
    torch.manual_seed(0)
    model = load_model(MODELS / model_file)
    train_data, val_data = load_train_val(subset=10_000, val_subset=2_000)
    return train(model, train_data, val_data, Recipe(epochs=2, **recipe), device="cuda", cuda_graph=cuda_graph)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_graph_captured_training_learns_like_calling_the_step(mnist_dir, optimizer):
    graph, eager = _train("seed_net.py", optimizer=optimizer), _train("seed_net.py", False, optimizer=optimizer)
    assert graph.cuda_graph and not eager.cuda_graph
    assert graph.val_acc >= 0.95 and eager.val_acc >= 0.95
    # Same data, schedule and seed; only the random draws and kernel order differ
    assert graph.val_acc == pytest.approx(eager.val_acc, abs=0.01)
    assert graph.history[0].train_loss == pytest.approx(eager.history[0].train_loss, rel=0.05)


def test_a_model_that_cannot_be_captured_falls_back_and_trains(mnist_dir):
    with pytest.warns(UserWarning, match="could not be captured as a CUDA graph"):
        result = _train("host_sync.py")
    assert not result.cuda_graph
    assert result.val_acc >= 0.9


def test_cli_trains_on_cuda_with_a_graph(mnist_dir):
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "1", "--subset", "5000", "--device", "cuda",
                     "--json")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["cuda_graph"] is True and metrics["device"].startswith("cuda")


def test_a_model_file_trained_on_cuda_is_measured_alike_in_nas_own_process(mnist_dir):
    """The file's process trains and measures on CUDA, then records the model on the CPU; nas's
    own process replays the recording there and measures it again: the two figures must agree to
    within a few images, or it is exit 2."""
    for command in (["train", "--val-subset", "5000"], ["evaluate", "--seeds", "1"]):
        result = run_nas(command[0], MODELS / "seed_net.py", "--epochs", "2", "--subset", "10000", "--device", "cuda",
                         "--json", *command[1:])
        assert result.exit_code == 0, result.output
        metrics = json.loads(result.stdout)
        assert (metrics["val_acc"] if command[0] == "train" else metrics["mean"]) >= 0.95


def test_search_workers_share_the_gpu(mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path / 'g.db'}"
    result = run_nas("search", "--trials", "4", "--epochs", "1", "--subset", "3000", "--device", "cuda",
                     "--workers", "2", "--study", "g", "--storage", storage, "--results-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    board = json.loads(run_nas("leaderboard", "--study", "g", "--storage", storage, "--format", "json").stdout)
    assert [row["state"] for row in board].count("complete") == 4
