"""Training under the rules: real MNIST, the real CLI, real models, on the CPU."""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys

import optuna
import pytest
import torch

from helpers import MODELS, ROOT, run_nas
from nas.data import MNIST_FILES, load_train_val
from nas.modelfile import load_model
from nas.errors import RulesBroken
from nas.train import DIVERGED_LOSS, Recipe, TrainingDiverged, measure, one_cycle, to_device, train


def test_train_reaches_95_percent_and_its_weights_reload(mnist_dir, tmp_path):
    out = tmp_path / "run"
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "2", "--subset", "10000", "--val-subset", "2000",
                     "--device", "cpu", "--json", "--out", out)
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["val_acc"] >= 0.95
    assert metrics["epochs"] == 2 and len(metrics["history"]) == 2
    assert metrics["total_params"] == 14_770
    assert metrics["cuda_graph"] is False  # the CPU calls the step; only CUDA captures it
    for key in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "train_seconds", "seconds"):
        assert key in metrics["history"][0]

    assert json.loads((out / "metrics.json").read_text())["val_acc"] == metrics["val_acc"]
    model = load_model(out / "seed_net.py")
    model.load_state_dict(torch.load(out / "weights.pt", weights_only=True))
    _, val = load_train_val(mnist_dir, val_subset=2000)
    _, acc = measure(model, *to_device(val, torch.device("cpu")))
    assert acc == pytest.approx(metrics["val_acc"], abs=1e-4)


def test_train_without_out_says_that_nothing_is_saved(mnist_dir, tmp_path):
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "1", "--subset", "256", "--val-subset", "256",
                     "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "Nothing saved: pass --out DIR" in result.stderr and "Epochs: 1 " in result.stdout


def test_too_many_epochs_exit_2_before_anything():
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "21")
    assert result.exit_code == 2
    assert "limit of 20" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, words", [(["--optimizer", "bogus"], "'bogus' is not one of 'sgd', 'adam', 'adamw'"),
                                         (["--lr", "0"], "must be positive"),
                                         (["--subset", "100"], "--batch-size 128 needs at least")])
def test_bad_training_options_exit_2_with_one_line(mnist_dir, args, words):
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "1", "--device", "cpu", *args)
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Value error" not in result.stderr  # typer's wording for a bad choice, not nas's


def test_max_epochs_raises_the_limit_only_when_asked(mnist_dir):
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "16", "--max-epochs", "15")
    assert result.exit_code == 2 and "limit of 15" in result.stderr


TRAIN, EVALUATE = ["train", "--val-subset", "500"], ["evaluate", "--seeds", "1"]


@pytest.mark.parametrize("failure, command, words", [
    ("raise", TRAIN, "stopped: it raised RuntimeError: failed at call 40"),
    ("exit", EVALUATE, "called sys.exit(0) while training"),
    ("os-exit", TRAIN, "ended the process that trains it (exit code 0) before the training ended"),
    ("hang", EVALUATE, "stalled while nas trained it: nothing finished within 20 s"),
    ("patch", TRAIN, "changed nas's or torch's own code (nas.train.measure)"),
    ("patch-code", TRAIN, "changed nas's or torch's own code (nas.train.measure)"),
    ("patch-tensor", EVALUATE, "changed nas's or torch's own code (Tensor.argmax)"),
    ("dense-hidden", TRAIN, "changed nas's or torch's own code (nas.train.check)"),
    ("dense-hidden", EVALUATE, "changed nas's or torch's own code (nas.train.check)")])
def test_a_model_that_fails_only_in_training_exits_2_with_one_line(mnist_dir, tmp_path, monkeypatch, failure,
                                                                   command, words):
    """It passes every check, then fails at its 40th call: exit 2 and one line, not a traceback, a
    hang, the exit status it chose (0), or the 100% it faked; and nothing is written."""
    monkeypatch.setenv("NAS_TEST_FAILURE", failure)
    out = ["--out", tmp_path / "run"] if command == TRAIN else []
    result = run_nas(command[0], MODELS / "trains_then_fails.py", "--epochs", "2", "--subset", "2560",
                     "--device", "cpu", "--json", "--timeout", "20", *command[1:], *out)
    assert result.exit_code == 2, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "trains_then_fails.py" in last and words in last, last
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [TRAIN, EVALUATE])
def test_a_model_that_turns_dense_while_it_trains_exits_1_with_the_verdict(mnist_dir, tmp_path, monkeypatch,
                                                                          command):
    """It passes the checks before training, then computes a dense layer from its 40th call on: the
    model as trained is checked again, and nothing is written."""
    monkeypatch.setenv("NAS_TEST_FAILURE", "dense")
    out = ["--out", tmp_path / "run"] if command == TRAIN else []
    result = run_nas(command[0], MODELS / "trains_then_fails.py", "--epochs", "2", "--subset", "2560",
                     "--device", "cpu", "--json", *command[1:], *out)
    assert result.exit_code == 1, result.output
    assert "kept the rules before training but breaks them as trained" in result.stderr and "no-fc" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "run").exists()


def test_a_graph_recorded_only_to_be_measured_is_checked_too(mnist_dir, tmp_path):
    """A model dense only at the batch size nas measures accuracy at (500 on the CPU), and honest
    where it is checked: nas's own process checks every graph it recorded, so it is exit 1 with
    the verdict, not its accuracy."""
    result = run_nas("train", MODELS / "dense_when_measured.py", "--epochs", "1", "--subset", "1000",
                     "--val-subset", "500", "--device", "cpu", "--out", tmp_path / "run")
    assert result.exit_code == 1, result.output
    assert "no-fc" in result.stderr and "no-bias" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [TRAIN, EVALUATE])
def test_an_accuracy_the_recorded_model_does_not_reach_exits_2(mnist_dir, tmp_path, command):
    """A model that reads the labels out of nas's measuring frame scores 100% in the process that
    runs it; nas measures what that process recorded, in its own: exit 2, one line, nothing written."""
    out = ["--out", tmp_path / "run"] if command == TRAIN else []
    result = run_nas(command[0], MODELS / "reads_the_labels.py", "--epochs", "1", "--subset", "1000",
                     "--device", "cpu", *command[1:], *out)
    assert result.exit_code == 2, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert "reads_the_labels.py reported 100.00% accuracy, but the model it recorded scores" in last, last
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [TRAIN, EVALUATE])
def test_a_file_that_lifts_its_memory_limit_is_not_judged(mnist_dir, tmp_path, command):
    """Training needs the judging's memory limit lifted afterwards, so the limit is a soft one
    there, which the file itself could raise while it is judged: one that does exits 2."""
    path = tmp_path / "lifts.py"
    path.write_text("import resource\n"
                    "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
                    "resource.setrlimit(resource.RLIMIT_AS, (hard, hard))\n" + (MODELS / "seed_net.py").read_text())
    result = run_nas(command[0], path, "--epochs", "1", "--subset", "1000", "--device", "cpu", *command[1:])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].endswith("changed the memory limit it is judged under "
                                                           "(RLIMIT_AS); nas cannot judge a model that changes it")
    assert "Traceback" not in result.output and result.stdout == ""


def test_rule_breaker_exits_1_without_training(mnist_dir, tmp_path):
    out = tmp_path / "never"
    result = run_nas("train", MODELS / "linear_head.py", "--epochs", "1", "--subset", "1000",
                     "--device", "cpu", "--out", out)
    assert result.exit_code == 1
    assert "no-fc" in result.stderr
    assert not out.exists()  # nothing was trained, nothing written


# A dead local proxy makes a download fail at once, as on a machine with no network.
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def test_missing_data_offline_exits_2_naming_the_files(tmp_path):
    env = os.environ | OFFLINE
    proc = subprocess.run([sys.executable, "-m", "nas", "train", str(MODELS / "seed_net.py"),
                           "--epochs", "1", "--data-dir", str(tmp_path / "empty"), "--device", "cpu"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert "train-images-idx3-ubyte.gz" in lines[-1] and "t10k-labels-idx1-ubyte.gz" in lines[-1]
    assert proc.stdout == ""


def test_nas_data_places_mnist_from_a_folder_then_finds_it_there(mnist_dir, tmp_path):
    placed = run_nas("data", "--from", mnist_dir, "--data-dir", tmp_path / "d")
    assert placed.exit_code == 0, placed.stderr
    assert "copied from" in placed.stdout
    for name in MNIST_FILES:
        copy, original = (root / "MNIST" / "raw" / name for root in (tmp_path / "d", mnist_dir))
        assert copy.read_bytes() == original.read_bytes()
    assert len(load_train_val(tmp_path / "d", val_subset=10)[1]) == 10
    again = run_nas("data", "--data-dir", tmp_path / "d")
    assert again.exit_code == 0 and "already there" in again.stdout


def test_nas_data_makes_the_data_directory_a_fresh_clone_lacks(tmp_path):
    """The README's `nas data` in a fresh clone, where ./data does not exist. Offline, so the test needs no
    network and the download fails the same way each time; what matters is that it was tried."""
    env = os.environ | OFFLINE | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("NAS_DATA_DIR", None)  # ./data of the folder it runs in, as for a new user
    proc = subprocess.run([sys.executable, "-m", "nas", "data"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert (tmp_path / "data").is_dir()  # made, so the download was tried
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "could not be downloaded" in proc.stderr.strip().splitlines()[-1] and "nas data --from DIR" in proc.stderr
    assert "(RuntimeError: <urlopen error " in proc.stderr  # what the network answered, not just a type


def test_nas_data_from_a_folder_without_mnist_exits_2_with_one_line(tmp_path):
    result = run_nas("data", "--from", tmp_path, "--data-dir", tmp_path / "d")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "does not hold the MNIST files" in result.stderr
    assert not (tmp_path / "d").exists()


CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over the 10 digits


def _short_run(mnist_dir, epochs=1, **recipe):
    torch.manual_seed(recipe.get("seed", 0))
    model = load_model(MODELS / "seed_net.py")
    train_data, val_data = load_train_val(mnist_dir, subset=1024, val_subset=1000)
    return train(model, train_data, val_data, Recipe(epochs=epochs, batch_size=128, **recipe), device="cpu")


def test_same_seed_same_numbers_on_cpu(mnist_dir):
    first, second = _short_run(mnist_dir, seed=3), _short_run(mnist_dir, seed=3)
    strip = [{k: v for k, v in vars(e).items() if "seconds" not in k} for e in first.history]
    assert strip == [{k: v for k, v in vars(e).items() if "seconds" not in k} for e in second.history]
    other = _short_run(mnist_dir, seed=4)
    assert other.history[0].train_loss != first.history[0].train_loss


@pytest.mark.parametrize("batch_size", [128, 256, 512])
def test_very_short_runs_train(mnist_dir, batch_size):
    # 512 images: 4, 2 and 1 steps in all; 4 once crashed the one-cycle schedule
    torch.manual_seed(0)
    train_data, val_data = load_train_val(mnist_dir, subset=512, val_subset=500)
    result = train(load_model(MODELS / "seed_net.py"), train_data, val_data,
                   Recipe(epochs=1, batch_size=batch_size), device="cpu")
    assert len(result.history) == 1
    [stats] = result.history
    assert math.isfinite(stats.train_loss) and math.isfinite(stats.val_loss), stats  # a bad schedule gives NaN
    assert 0 <= stats.train_acc <= 1 and 0 <= stats.val_acc <= 1
    # 1 to 4 steps at the warm-up's rate (peak/25) teach little, but must do no harm: still at chance or below
    assert stats.val_loss <= CHANCE_LOSS + 0.01, stats


def test_two_epochs_the_loss_is_finite_and_falls(mnist_dir):
    # 8 steps an epoch: enough for the loss to fall clearly, and the same numbers on every CPU run (seeded)
    result = _short_run(mnist_dir, epochs=2)
    first, second = result.history
    losses = [first.train_loss, first.val_loss, second.train_loss, second.val_loss]
    assert all(math.isfinite(loss) for loss in losses), losses
    assert first.train_loss < CHANCE_LOSS  # it learned in its first epoch (2.26 when written)
    assert second.train_loss < first.train_loss - 0.05  # and goes on learning (2.26 → 2.10 when written)
    assert second.val_loss < first.val_loss and second.val_loss < CHANCE_LOSS - 0.03  # on unseen images too


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_and_adamw_train(mnist_dir, optimizer):
    result = _short_run(mnist_dir, optimizer=optimizer)
    assert result.recipe.optimizer == optimizer and result.recipe.lr == 0.01
    assert result.history[0].train_loss < 2.3  # below chance: it learned something in 8 steps


@pytest.mark.parametrize("total_steps", [8, 390, 7800])
def test_learning_rate_table_is_torchs_one_cycle(total_steps):
    # The table replaces OneCycleLR so that a CUDA graph can read it; it must be the same schedule
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=total_steps,
                                                   pct_start=0.25, cycle_momentum=False)
    expected = []
    for _ in range(total_steps):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert one_cycle(0.2, total_steps).tolist() == pytest.approx(expected, rel=1e-6)


def test_divergence_stops_with_a_clear_error(mnist_dir):
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        _short_run(mnist_dir, lr=1e12, augment=0)


def test_a_loss_that_explodes_without_nan_is_divergence(mnist_dir, tmp_path):
    quick = ["--epochs", "1", "--subset", "500", "--val-subset", "500", "--device", "cpu"]
    result = run_nas("train", MODELS / "seed_net.py", *quick, "--lr", "1000")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert "training diverged" in line and "lower the learning rate (now 1000)" in line
    loss = float(line.split("mean training loss was ")[1].split()[0])
    assert math.isfinite(loss) and loss > DIVERGED_LOSS  # not NaN: caught by its size

    space = tmp_path / "exploding.py"
    space.write_text("def suggest(trial, rules):\n    conv = [{'type': 'conv', 'out': 16}, {'type': 'bn'}, {'type': 'act'}]\n"
                     "    return {'arch': conv + [{'type': 'maxpool'}] + conv + [{'type': 'gap'}, {'type': 'head'}],\n"
                     "            'recipe': {'lr': trial.suggest_float('lr', 999.0, 1000.0)}}\n")
    storage = f"sqlite:///{tmp_path}/t.db"
    search = run_nas("search", "--trials", "1", *quick, "--space", space, "--study", "t", "--storage", storage,
                     "--results-dir", tmp_path / "results")
    assert search.exit_code == 0, search.stderr
    [trial] = optuna.load_study(study_name="t", storage=storage).trials
    assert trial.state == optuna.trial.TrialState.FAIL and "training diverged" in trial.user_attrs["reason"]
    assert not (tmp_path / "results" / "t").exists()  # no weights kept for it


def test_library_refuses_a_rule_breaker(mnist_dir):
    train_data, val_data = load_train_val(mnist_dir, subset=256, val_subset=256)
    with pytest.raises(RulesBroken) as caught:
        train(load_model(MODELS / "conv_bias.py"), train_data, val_data, Recipe(epochs=1), device="cpu")
    assert {v.rule for v in caught.value.report.violations} == {"no-bias"}


def test_split_is_fixed_and_disjoint(mnist_dir):
    train_a, val_a = load_train_val(mnist_dir)
    train_b, val_b = load_train_val(mnist_dir)
    assert len(train_a) == 50_000 and len(val_a) == 10_000
    assert torch.equal(val_a.images, val_b.images) and torch.equal(train_a.labels, train_b.labels)
    # no validation image is a training image (compare exact pixel rows)
    train_rows = {bytes(img.flatten().numpy()) for img in train_a.images[:5000]}
    assert not any(bytes(img.flatten().numpy()) in train_rows for img in val_a.images[:2000])
    assert len(load_train_val(mnist_dir, subset=1000)[0]) == 1000


def test_mnist_is_read_as_torchvision_reads_it(mnist_dir, tmp_path):
    import torchvision

    from nas.data import load_test
    theirs = torchvision.datasets.MNIST(str(mnist_dir), train=False, download=True)  # unpacks the .gz
    ours = load_test(mnist_dir)
    assert torch.equal(ours.images, theirs.data) and torch.equal(ours.labels, theirs.targets)
    # the compressed files alone (as .ci/run copies them) read the same
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes((mnist_dir / "MNIST" / "raw" / name).read_bytes())
    assert torch.equal(load_test(tmp_path).images, theirs.data)


def test_a_damaged_data_file_exits_2_with_one_line(mnist_dir, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        source = mnist_dir / "MNIST" / "raw" / name
        data = source.read_bytes() if source.exists() else gzip.open(f"{source}.gz").read()
        (raw / name).write_bytes(data[:len(data) // 2] if "images" in name else data)
    result = run_nas("train", MODELS / "seed_net.py", "--epochs", "1", "--data-dir", tmp_path, "--device", "cpu")
    assert result.exit_code == 2
    assert "is damaged" in result.stderr and len(result.stderr.strip().splitlines()) == 1
