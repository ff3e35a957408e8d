"""`nas search` and `nas leaderboard`: real Optuna storage files, real MNIST, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
import torch

import search_spaces
from helpers import MODELS, ROOT, run_nas, wait_until
from nas.arch import build, normalized
from nas.modelfile import load_model
from nas.render_search import cost_note
from nas.search import REFERENCE_NET, CpuSpeed, SearchSettings, _candidate, cpu_cost, cpu_speed, recorded_cpu_speed, rejection_reason
from nas.space import list_spaces
from nas.validator import check


def search(tmp_path, *args):
    return run_nas("search", "--epochs", "1", "--subset", "3000", "--val-subset", "2000", "--device", "cpu",
                   "--study", "t", "--storage", f"sqlite:///{tmp_path}/t.db", "--results-dir", tmp_path / "results",
                   *args)


def board(tmp_path, *args) -> list[dict]:
    result = run_nas("leaderboard", "--study", "t", "--storage", f"sqlite:///{tmp_path}/t.db",
                     "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_search_stores_ranks_and_resumes(mnist_dir, tmp_path):
    result = search(tmp_path, "--trials", "3", "--space", "tiny")  # the default space's searches: test_faults
    assert result.exit_code == 0, result.stderr
    assert "3 trials trained" in result.stdout
    rows = board(tmp_path)
    assert len(rows) == 3 and all(r["state"] == "complete" for r in rows)
    best = rows[0]["trial"]
    assert f"nas export {best} -o best.py --weights best.pt --study t --storage sqlite:///" in result.stderr
    for key in ("trial", "state", "val_acc", "total_params", "trainable_params", "epochs", "seconds", "arch"):
        assert key in rows[0]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["val_acc"] >= rows[1]["val_acc"] >= rows[2]["val_acc"]

    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path}/t.db")
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        attrs = trial.user_attrs
        json.dumps(attrs)  # plain JSON: optuna-dashboard can show it
        report = check(build(attrs["arch"]))  # the stored description alone rebuilds the model
        assert report.ok and report.total_params == attrs["total_params"] < 15_000
        assert attrs["recipe"]["epochs"] == 1 and attrs["device"] == "cpu" and attrs["seed"] == 0
        assert len(attrs["val_acc_history"]) == 1
        assert (tmp_path / "results" / "t" / f"trial_{trial.number}" / "weights.pt").exists()

    result = search(tmp_path, "--trials", "1", "--space", "tiny")  # the same command again: one more
    assert result.exit_code == 0, result.stderr
    assert len([r for r in board(tmp_path) if r["state"] == "complete"]) == 4


def test_running_the_same_search_again_proposes_new_candidates_and_a_seeded_run_repeats(mnist_dir, tmp_path):
    def candidates(db: str) -> list[str]:
        result = run_nas("search", "--trials", "2", "--epochs", "1", "--subset", "500", "--val-subset", "500",
                         "--device", "cpu", "--space", "tiny", "--study", "t", "--storage", f"sqlite:///{db}",
                         "--results-dir", tmp_path / "results", "--pruner", "none")
        assert result.exit_code == 0, result.stderr
        study = optuna.load_study(study_name="t", storage=f"sqlite:///{db}")
        return [json.dumps(t.params, sort_keys=True) for t in study.trials]

    first = candidates(tmp_path / "a.db")
    twice = candidates(tmp_path / "a.db")  # the same command on the same study
    assert len(set(twice)) == len(twice) >= 4  # no candidate proposed (or trained) twice
    assert candidates(tmp_path / "b.db") == first  # the same command on an empty study: the same trials


def test_two_workers_share_one_sqlite_study(mnist_dir, tmp_path):
    result = search(tmp_path, "--trials", "4", "--workers", "2", "--space", "tiny")
    assert result.exit_code == 0, result.stderr
    assert "locked" not in result.stderr
    assert "4 trials trained" in result.stdout
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path}/t.db")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 4
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)
    # every trial samples from its own stream: no two trials got the same candidate
    assert len({json.dumps(t.params, sort_keys=True) for t in complete}) == 4


def test_over_budget_candidates_are_rejected_untrained(mnist_dir, tmp_path):
    result = search(tmp_path, "--trials", "2", "--space", ROOT / "tests" / "spaces" / "over_budget.py")
    assert result.exit_code == 0, result.stderr
    rows = board(tmp_path, "--all")
    rejected = [r for r in rows if r["state"] == "rejected"]
    assert len([r for r in rows if r["state"] == "complete"]) == 2  # rejections did not count as trials
    assert len(rejected) >= 1
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path}/t.db")
    for r in rejected:
        trial = study.trials[r["trial"]]
        assert "total params" in r["reason"] and "≥ 15,000" in r["reason"]
        assert trial.intermediate_values == {}  # no epoch ran
        assert "val_acc_history" not in trial.user_attrs
        assert not (tmp_path / "results" / "t" / f"trial_{trial.number}").exists()


def test_a_space_that_never_fits_stops_with_a_clear_message(mnist_dir, tmp_path):
    result = search(tmp_path, "--trials", "1", "--space", ROOT / "tests" / "spaces" / "always_over.py")
    assert result.exit_code == 2
    assert "stopped after 20 rejected candidates" in result.stderr
    assert len(board(tmp_path, "--all")) == 20


def test_leaderboard_formats_and_errors(mnist_dir, tmp_path):
    assert search(tmp_path, "--trials", "1", "--space", "tiny").exit_code == 0
    storage = f"sqlite:///{tmp_path}/t.db"
    csv_out = run_nas("leaderboard", "--study", "t", "--storage", storage, "--format", "csv")
    assert csv_out.exit_code == 0 and csv_out.stdout.startswith("rank,trial,state,val_acc")
    md = run_nas("leaderboard", "--study", "t", "--storage", storage, "--format", "markdown")
    assert md.exit_code == 0 and "| rank | trial |" in md.stdout
    table = run_nas("leaderboard", "--study", "t", "--storage", storage)
    assert table.exit_code == 0 and "complete" in table.stdout
    assert board(tmp_path)[0]["total_params"] <= 5_000  # the tiny space's budget

    missing = run_nas("leaderboard", "--study", "nope", "--storage", storage)
    assert missing.exit_code == 2 and "studies there: t" in missing.stderr
    no_file = run_nas("leaderboard", "--storage", f"sqlite:///{tmp_path}/none.db")
    assert no_file.exit_code == 2 and "no storage file" in no_file.stderr


def test_every_shipped_space_file_is_listed():
    shipped = Path(search_spaces.__file__).resolve().parent
    files = {p.stem for p in shipped.glob("*.py") if not p.stem.startswith("_")}
    assert {"default", "tiny"} <= files
    assert files <= {s.name for s in list_spaces()}


@pytest.mark.parametrize("space", list_spaces(), ids=lambda space: space.name)
def test_nas_spaces_lists_the_space_and_its_candidates_can_be_trained(space):
    result = run_nas("spaces")
    assert result.exit_code == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.split()[1:2] == [space.name]]  # its first cell
    assert space.description and space.description in row and str(space.path) in row

    # candidates as the search samples and checks them: each builds; rejections are allowed (the search
    # skips them), but one of the first few must pass the rules and the space's receptive-field floor
    settings = SearchSettings(space=space.name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    reasons = []
    for _ in range(6):
        trial = study.ask()
        _, recipe, model = _candidate(space, trial, settings)
        report = check(model, settings.rules)
        reasons.append(rejection_reason(report, space.min_receptive_field))
        if reasons[-1] is None:
            break
    assert reasons[-1] is None, reasons
    assert report.ok and report.total_params < settings.rules.max_params
    assert report.receptive_field >= space.min_receptive_field and recipe.epochs == settings.epochs


@pytest.mark.parametrize("args, words", [(["--epochs", "21"], "limit of 20"), (["--space", "nope"], "no search space"),
                                         (["--sampler", "grid"], "--sampler"), (["--pruner", "x"], "--pruner")])
def test_bad_search_options_exit_2(mnist_dir, tmp_path, args, words):
    result = search(tmp_path, "--trials", "1", *args)
    assert result.exit_code == 2 and words in result.stderr


def test_piped_search_prints_a_line_per_trial_as_it_goes_then_the_leaderboard(mnist_dir, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "nas", "search", "--trials", "3", "--epochs", "1", "--subset", "500",
         "--val-subset", "500", "--device", "cpu", "--study", "t", "--storage", f"sqlite:///{tmp_path}/t.db",
         "--results-dir", str(tmp_path / "results"), "--space", "tiny"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    lines, running_at_first_trial = [], None
    for line in proc.stdout:  # as `nas search ... | cat` reads it
        lines.append(line)
        if running_at_first_trial is None and line.startswith("trial 0 complete"):
            running_at_first_trial = proc.poll() is None
    err = proc.stderr.read()
    assert proc.wait() == 0, err
    out = "".join(lines)
    assert running_at_first_trial, out  # the first trial's line came while the search still ran
    assert "On the CPU this search may take about" in out  # the cost, before starting
    epoch_lines = [line for line in lines if " epoch 1/1: loss " in line]
    assert len(epoch_lines) == 3 and all("s/epoch, trial ends" in line for line in epoch_lines)
    assert len([line for line in lines if " complete: val acc " in line and "search ends ~" in line]) == 3
    assert "\x1b[" not in out + err  # no live view, no colours
    board_at = out.index("Study 't': top 3")
    assert board_at > out.rindex(" complete: val acc ")
    assert "★" in out[board_at:] and "3 trials trained" in out[board_at:]
    assert "\n\nNext: nas evaluate" in err or err.startswith("\nNext: nas evaluate")
    # the options to copy: the data this search trained on, and where its study is
    assert f" --seeds 3 --subset 500 --device cpu --study t --storage sqlite:///{tmp_path}/t.db, then nas export " in err


def test_a_long_cpu_search_is_costed_and_the_cheaper_options_named():
    recorded = recorded_cpu_speed(cores=2, dtype="float32")  # the reference net at 23.4 s per epoch
    defaults = SearchSettings()
    note = cost_note(cpu_cost(defaults, recorded), defaults)  # the defaults on a CPU: multi-fidelity
    assert note.startswith("Multi-fidelity search (--fidelity full trains every candidate fully; a candidate "
                           "goes up a rung only if fast enough to train in full in 10 min, and full training takes the "
                           "best that fit in 31 min): on the CPU")
    assert "about 60 min: 50 candidates × 2 epochs × 8,000 images, the best 25 × 4 epochs × 20,000, the best " \
           "7 × 20 epochs × 50,000, at ~23.4 s per epoch of 50,000 images (the reference net's speed, as " \
           "recorded on another CPU" in note
    assert "about 47 min: 50 candidates" in cost_note(cpu_cost(defaults, recorded_cpu_speed(2, "bf16")), defaults)
    # a CPU half as fast: twice the time, and limits twice as long, so the same candidates go up
    slow = cpu_cost(SearchSettings(), CpuSpeed(recorded.train * 2, recorded.val * 2, measured=True))
    assert 1.9 < slow.seconds / cpu_cost(SearchSettings(), recorded).seconds < 2  # the checks' seconds stay
    assert "in 20 min, and full training takes the best that fit in 62 min" in cost_note(slow, defaults)
    assert "(the reference net's speed, measured on this CPU;" in cost_note(slow, defaults)
    full = SearchSettings(fidelity="full")
    note = cost_note(cpu_cost(full, recorded), full)
    assert "about 7.2 h: 50 trials × 20 epochs × 50,000 images" in note
    assert "For a quick look, lower --trials, --epochs or --subset (e.g. --trials 3 --epochs 2 --subset 10000)" in note
    # the example lowers only what is not low already (a newcomer was offered the options they had given)
    quick = SearchSettings(trials=5, epochs=2, subset=5000, fidelity="full")
    note = cost_note(cpu_cost(quick, CpuSpeed(recorded.train * 40, recorded.val * 40, measured=True)), quick)
    assert "(e.g. --trials 3)" in note
    tiny = SearchSettings(trials=1, epochs=1, subset=500)
    assert "--subset" not in cost_note(cpu_cost(tiny, recorded_cpu_speed(2, "bf16")), tiny)


def test_a_long_cpu_search_measures_this_cpu_and_a_small_one_does_not():
    cpu = torch.device("cpu")
    speed = cpu_speed(SearchSettings(), cpu)
    assert speed.measured
    # the reference net's epoch of 50,000 images: 17-65 s on the 2-core machines seen, eager
    threads = torch.get_num_threads()
    assert 5 / threads < speed.train * 50_000 < 200 / threads and 0 < speed.val < speed.train
    assert not cpu_speed(SearchSettings(trials=1, epochs=1, subset=1_000), cpu).measured  # ~9 s on 1 thread


def test_the_reference_net_that_costs_a_cpu_search_is_the_hand_built_one():
    ours, theirs = build(normalized(REFERENCE_NET)), load_model(MODELS / "seed_net.py")
    assert check(ours).total_params == check(theirs).total_params == 14_770
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]


def test_ctrl_c_keeps_finished_trials_and_prints_the_leaderboard(mnist_dir, tmp_path):
    db = tmp_path / "t.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nas", "search", "--trials", "50", "--epochs", "2", "--subset", "2000",
         "--val-subset", "1000", "--device", "cpu", "--study", "t", "--storage", f"sqlite:///{db}",
         "--results-dir", str(tmp_path / "results"), "--space", "tiny", "--pruner", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
        # as from a terminal: a runner started in the background ignores SIGINT, and its children inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def into_the_next_trials_training() -> bool:
        """A trial is complete, and the next has trained an epoch of its two: Ctrl-C comes mid-training."""
        assert proc.poll() is None, proc.communicate()[1]  # the search must still run
        if not db.exists():
            return False
        try:
            trials = optuna.load_study(study_name="t", storage=f"sqlite:///{db}").trials
        except (KeyError, sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            return False  # the study is not created yet, or this read raced the search creating the schema
        states = [t.state for t in trials]
        return optuna.trial.TrialState.COMPLETE in states and any(
            t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values for t in trials)

    wait_until(into_the_next_trials_training, "a complete trial, and the next one mid-training")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "Study 't'" in out  # the leaderboard printed
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{db}")
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 1
    assert optuna.trial.TrialState.RUNNING not in states
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL
              and t.user_attrs.get("status") == "failed"]
    assert [t.user_attrs["reason"] for t in failed] == ["interrupted"]
