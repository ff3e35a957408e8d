"""Results people take away: `nas export` and `nas evaluate`, on a real search study."""

from __future__ import annotations

import json
import shlex
import shutil

import optuna
import pytest
import torch

import search_spaces.default as default_space
from helpers import MODELS, run_nas
from nas.config import Recipe
from nas.data import load_train_val
from nas.final_test import ALL_TRAIN_IMAGES, FinalTest, record_final_test
from nas.judge import final_test_file
from nas.modelfile import load_model
from nas.plots import MIN_TRIALS_FOR_IMPORTANCES, history_figure, importances_figure, param_label
from nas.rules import Rules
from nas.storage import load_study
from nas.train import measure, normalize, to_device

VAL_SUBSET = 1000


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_dir):
    """A real three-trial study of the tiny space, trained one epoch on the CPU."""
    root = tmp_path_factory.mktemp("study")
    storage = f"sqlite:///{root}/s.db"
    result = run_nas("search", "--trials", "3", "--epochs", "1", "--subset", "2000", "--val-subset", str(VAL_SUBSET),
                     "--device", "cpu", "--space", "tiny", "--study", "s", "--storage", storage,
                     "--results-dir", root / "results")
    assert result.exit_code == 0, result.stderr
    return root, storage


def test_every_exported_trial_validates_and_its_weights_reproduce_val_acc(study, mnist_dir):
    root, storage = study
    _, val = load_train_val(mnist_dir, val_subset=VAL_SUBSET)
    val_x, val_y = to_device(val, torch.device("cpu"))
    trials = optuna.load_study(study_name="s", storage=storage).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 3
    for trial in trials:
        out, weights = root / f"trial_{trial.number}.py", root / f"trial_{trial.number}.pt"
        result = run_nas("export", trial.number, "-o", out, "--weights", weights, "--study", "s", "--storage", storage)
        assert result.exit_code == 0, result.stderr
        source = out.read_text()
        assert "import torch" not in source.replace("from torch import nn", "")  # torch only, nothing else
        assert "def build_model()" in source and "self.block1 = nn.Sequential(" in source
        assert run_nas("validate", out).exit_code == 0
        model = load_model(out)
        model.load_state_dict(torch.load(weights, weights_only=True))
        _, acc = measure(model, val_x, val_y)
        assert acc == pytest.approx(trial.user_attrs["val_acc_history"][-1], abs=1e-4)


def test_evaluate_a_trial_stores_test_accuracy_on_the_leaderboard(study):
    root, storage = study
    best = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    result = run_nas("evaluate", best["trial"], "--epochs", "1", "--subset", "3000", "--seeds", "2", "--device", "cpu",
                     "--study", "s", "--storage", storage, "--json")
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert len(figures["test_accs"]) == 2 and figures["train_images"] == 3000 and figures["epochs"] == 1
    assert min(figures["test_accs"]) == figures["min"] <= figures["mean"] <= figures["max"]
    row = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    assert row["test_acc"] == pytest.approx(figures["mean"])
    assert row["test_acc_settings"] == "partial: 1 epoch, 3,000 images, 2 seeds"
    table = run_nas("leaderboard", "--study", "s", "--storage", storage)
    assert "Test acc" in table.stdout and "(partial: 1 epoch, 3,000 images, 2 seeds)" in table.stdout

    quick = run_nas("evaluate", best["trial"], "--epochs", "1", "--subset", "1000", "--seeds", "1", "--device", "cpu",
                    "--study", "s", "--storage", storage)
    assert quick.exit_code == 0, quick.stderr
    row = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    assert row["test_acc_settings"] == "partial: 1 epoch, 1,000 images, 1 seed"  # the latest: no full one yet
    kept = optuna.load_study(study_name="s", storage=storage).user_attrs[f"test_acc:trial_{best['trial']}"]
    assert [(e["train_images"], e["full"]) for e in kept] == [(3000, False), (1000, False)]  # each with its settings


def test_a_partial_evaluation_never_replaces_a_full_one(study):
    """A full evaluation (60,000 images, the trial's epochs, per seed) takes minutes even for a tiny net, so
    this one is recorded from its figures, as `nas evaluate` records its own; the partial one after it is real."""
    root, storage = study
    best = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    recipe = optuna.load_study(study_name="s", storage=storage).trials[best["trial"]].user_attrs["recipe"]
    full = FinalTest(target=f"trial {best['trial']}", seeds=[0, 1, 2], test_accs=[0.9612, 0.9634, 0.9623],
                      epochs=recipe["epochs"], train_images=ALL_TRAIN_IMAGES, total_params=best["total_params"],
                      seconds=300.0, recipe=recipe)
    assert record_final_test(load_study(storage, "s"), best["trial"], full)
    before = len(optuna.load_study(study_name="s", storage=storage).user_attrs[f"test_acc:trial_{best['trial']}"])

    partial = run_nas("evaluate", best["trial"], "--epochs", "1", "--subset", "1000", "--seeds", "1",
                      "--device", "cpu", "--study", "s", "--storage", storage, "--json")
    assert partial.exit_code == 0, partial.stderr
    assert json.loads(partial.stdout)["mean"] != pytest.approx(full.mean)
    row = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    assert row["trial"] == best["trial"]
    assert row["test_acc"] == pytest.approx(full.mean) and row["test_acc_std"] == pytest.approx(full.std)
    assert row["test_acc_settings"] == "3 seeds"  # full settings: only the seeds need saying
    table = run_nas("leaderboard", "--study", "s", "--storage", storage).stdout
    assert f"{full.mean:.2%} ± {full.std:.2%} (3 seeds)" in table
    kept = optuna.load_study(study_name="s", storage=storage).user_attrs[f"test_acc:trial_{best['trial']}"]
    assert len(kept) == before + 1 and [e["full"] for e in kept[-2:]] == [True, False]  # both kept
    assert kept[-1]["train_images"] == 1000 and kept[-2]["train_images"] == ALL_TRAIN_IMAGES


def test_evaluate_a_model_file(mnist_dir):
    """Also a legal net trained briefly keeps its verdict: trained one epoch on 1,000 images, seed
    1's reference net has maps of a big constant plus small changes with the input, which the 1%
    tolerance of the tags took for none, and the check after training refused it as computing out
    of nas's sight (`consistent`, exit 1)."""
    result = run_nas("evaluate", MODELS / "seed_net.py", "--epochs", "1", "--subset", "1000", "--seeds", "2",
                     "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.stdout and "1,000 images" in result.stdout and "seeds " in result.stdout
    # off a terminal, a line per epoch of each seed as it ends, for a log (a bar on a terminal)
    epochs = [line for line in result.stderr.splitlines() if line.startswith("epoch 1: loss ")]
    assert len(epochs) == 2 and epochs[0].endswith("(1 of 2)") and epochs[1].endswith("(2 of 2)"), result.stderr


def test_an_exported_trial_trains_as_its_trial_with_the_options_export_prints(study, tmp_path):
    """A model file carries no recipe: `nas export` prints the options that give the trial's, and
    `nas evaluate FILE` with them tests what `nas evaluate TRIAL` tests (without them it did not:
    the defaults trained it)."""
    root, storage = study
    shutil.copy(root / "s.db", tmp_path / "s.db")  # evaluating a trial stores its result: not in the shared study
    storage = f"sqlite:///{tmp_path}/s.db"
    out = tmp_path / "best.py"
    exported = run_nas("export", "0", "-o", out, "--study", "s", "--storage", storage)
    assert exported.exit_code == 0, exported.stderr
    line = exported.stdout.strip().splitlines()[-1]
    assert line.startswith(f"To train it as trial 0 was: nas train {out} --epochs 1 --lr "), line
    assert line.endswith(" --subset 2000"), line  # the images the trial trained on
    options = shlex.split(line.split(f"nas train {out} ", 1)[1])
    assert f"# To train it so: nas train best.py {shlex.join(options)}" in out.read_text()
    quick = ["--epochs", "3", "--subset", "3000", "--seeds", "1", "--device", "cpu", "--json"]  # the last --epochs counts
    as_file = run_nas("evaluate", out, *options, *quick)
    as_trial = run_nas("evaluate", "0", *quick, "--study", "s", "--storage", storage)
    assert as_file.exit_code == 0 and as_trial.exit_code == 0, as_file.stderr + as_trial.stderr
    assert json.loads(as_file.stdout)["test_accs"] == json.loads(as_trial.stdout)["test_accs"]
    refused = run_nas("evaluate", "0", "--lr", "0.1", "--study", "s", "--storage", storage)
    assert refused.exit_code == 2 and "retrained with the recipe it was trained with" in refused.stderr


def test_evaluate_reports_each_epoch_of_each_seed_as_it_trains(mnist_dir):
    """A final test trains for minutes per seed: each epoch's stats reach the caller as it ends
    (nas evaluate shows them in a progress bar), from the child process a model file trains in."""
    seen = []
    result = final_test_file(MODELS / "seed_net.py", None, Recipe(epochs=2), seeds=2, device="cpu", subset=1000,
                             on_epoch=seen.append)
    assert [stats.epoch for stats in seen] == [1, 2, 1, 2]
    assert all(stats.train_loss > 0 and stats.val_acc is None for stats in seen)  # no validation: it tests
    assert len(result.test_accs) == 2


def test_evaluate_refuses_rule_breakers_and_unknown_trials(study, mnist_dir):
    root, storage = study
    assert run_nas("evaluate", MODELS / "linear_head.py", "--epochs", "1", "--subset", "500",
                   "--device", "cpu").exit_code == 1
    missing = run_nas("export", "99", "--study", "s", "--storage", storage, "-o", root / "x.py")
    assert missing.exit_code == 2 and "not a complete trial" in missing.stderr


def test_onnx_export_matches_pytorch(study, mnist_dir):
    pytest.importorskip("onnx", reason="the ONNX exporter needs onnx (pip install 'nas[onnx]')")
    pytest.importorskip("onnxscript", reason="the ONNX exporter needs onnxscript (pip install 'nas[onnx]')")
    onnxruntime = pytest.importorskip("onnxruntime", reason="comparing the ONNX model's outputs needs onnxruntime "
                                      "(pip install 'nas[onnx]')")
    root, storage = study
    best = json.loads(run_nas("leaderboard", "--study", "s", "--storage", storage, "--format", "json").stdout)[0]
    result = run_nas("export", best["trial"], "-o", root / "best.py", "--weights", root / "best.pt",
                     "--onnx", root / "best.onnx", "--study", "s", "--storage", storage)
    assert result.exit_code == 0, result.stderr
    assert (root / "best.onnx").stat().st_size > 1000

    # a real batch: the validation images, normalized as training and evaluation feed them, in a batch
    # size other than the exporter's example (4), so the batch dimension must really be dynamic
    _, val = load_train_val(mnist_dir, val_subset=VAL_SUBSET)
    val_x, val_y = to_device(val, torch.device("cpu"))
    images = normalize(val_x).float().contiguous()
    model = load_model(root / "best.py")
    model.load_state_dict(torch.load(root / "best.pt", weights_only=True))
    model.eval()
    with torch.no_grad():
        want = model(images).numpy()
    session = onnxruntime.InferenceSession(str(root / "best.onnx"), providers=["CPUExecutionProvider"])
    [name] = [i.name for i in session.get_inputs()]
    got = session.run(None, {name: images.numpy()})[0]
    assert got.shape == want.shape == (VAL_SUBSET, 10)
    assert abs(got - want).max() <= 1e-4
    assert (got.argmax(1) == want.argmax(1)).all()
    onnx_acc = float((torch.from_numpy(got).argmax(1) == val_y).float().mean())
    trial = optuna.load_study(study_name="s", storage=storage).trials[best["trial"]]
    assert onnx_acc == pytest.approx(trial.user_attrs["val_acc_history"][-1], abs=1e-4)  # the trial's own figure


def test_pareto_search_marks_the_front_and_report_writes_pngs(mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/p.db"
    result = run_nas("search", "--objective", "pareto", "--trials", "3", "--epochs", "1", "--subset", "2000",
                     "--val-subset", "1000", "--device", "cpu", "--space", "tiny", "--study", "p",
                     "--storage", storage, "--results-dir", tmp_path / "results")
    assert result.exit_code == 0, result.stderr
    assert len(optuna.load_study(study_name="p", storage=storage).directions) == 2
    rows = json.loads(run_nas("leaderboard", "--study", "p", "--storage", storage, "--format", "json").stdout)
    front = [r for r in rows if r["pareto"]]
    assert front
    for r in front:  # nothing else is at least as accurate and at least as small, and better in one
        assert not any(o["val_acc"] >= r["val_acc"] and o["total_params"] <= r["total_params"]
                       and (o["val_acc"], o["total_params"]) != (r["val_acc"], r["total_params"]) for o in rows)

    same_name = run_nas("search", "--trials", "1", "--epochs", "1", "--subset", "500", "--device", "cpu",
                        "--study", "p", "--storage", storage)
    assert same_name.exit_code == 2 and "--objective" in same_name.stderr

    few = run_nas("report", "--study", "p", "--storage", storage, "--out", tmp_path / "few")
    assert few.exit_code == 0, few.stderr
    assert (tmp_path / "few" / "pareto.png").exists() and (tmp_path / "few" / "history.png").exists()
    assert not (tmp_path / "few" / "importances.png").exists()
    skipped = [line for line in few.stderr.splitlines() if "importances.png" in line]
    assert len(skipped) == 1 and f"at least {MIN_TRIALS_FOR_IMPORTANCES} complete" in skipped[0] \
        and "has 3" in skipped[0]

    # the same 3 trials, each 7 times over: enough trials for importances, with no more training
    loaded = optuna.load_study(study_name="p", storage=storage)
    grown = optuna.create_study(study_name="p21", storage=storage, directions=loaded.directions)
    for _ in range(7):
        grown.add_trials(loaded.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    report = run_nas("report", "--study", "p21", "--storage", storage, "--out", tmp_path / "plots")
    assert report.exit_code == 0, report.stderr
    assert "Skipped" not in report.stderr
    for name in ("pareto.png", "history.png", "importances.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert f"Wrote {tmp_path / 'plots' / name}" in report.stdout

    history = history_figure(loaded).axes[0]
    ticks = [t for t in history.get_xticks() if history.get_xlim()[0] <= t <= history.get_xlim()[1]]
    assert ticks and all(t == int(t) for t in ticks)  # trial numbers, never 2.5
    low, high = history.get_ylim()
    assert high == 1.0 and 0.0 <= low <= min(t.values[0] for t in loaded.trials if t.values)
    assert history.get_xlabel() == "trial number" and "%" in history.get_ylabel() and history.get_title()
    importances = importances_figure(grown).axes[0]
    labels = [t.get_text() for t in importances.get_yticklabels()]
    assert labels and not set(labels) & set(loaded.trials[0].params)  # readable labels, not raw names
    assert "%" in importances.get_xlabel() and importances.get_title() and importances.figure.get_suptitle()


def test_importance_labels_name_every_parameter_the_default_space_samples():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names = set()
    for _ in range(40):  # enough random candidates to reach every kind of parameter
        trial = study.ask()
        default_space.suggest(trial, Rules())
        names |= set(trial.params)
    assert {"b2_c2", "t2", "b1_kernel", "b1_unit", "b1_se", "lr"} <= names
    assert all(param_label(n) != n for n in names), [n for n in names if param_label(n) == n]
    assert param_label("b0_c0") == "block 1, unit 1 width (channels)"
    assert param_label("t1") == "transition 1 width (channels, block 1 → 2)"
    assert param_label("b1_dilation") == "block 2 dilation"
    assert param_label("my_own_knob") == "my_own_knob"  # a custom space's names stay as they are
