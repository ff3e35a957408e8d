"""Multi-fidelity search: the rungs, the promotions, and a real search through them; and the
compiled CPU train step."""

from __future__ import annotations

import json
import warnings

import optuna
import pytest
import torch

from helpers import run_nas
from nas.arch import act, bn, build, conv, gap, head, pool, residual
from nas.config import Fidelity, Objective, SearchSettings
from nas.data import load_train_val
from nas.errors import NasError
from nas.fidelity import Rung, TimeLimits, due_promotion, plan, promote_one_in, resolve_fidelity, rungs
from nas.train import Recipe, train


def _board(db: str, study: str) -> list[dict]:
    result = run_nas("leaderboard", "--study", study, "--storage", db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _result(number: int, acc: float, rung: int = 0, candidate: int | None = None,
            state=optuna.trial.TrialState.COMPLETE, train_seconds: float = 4.0,
            **more_attrs) -> optuna.trial.FrozenTrial:
    """A finished trial as the storage returns it (Optuna's own constructor, no stand-in)."""
    attrs = {"rung": rung, "candidate": number if candidate is None else candidate, "total_params": 10_000,
             "images": 8_000, "epochs": 2, "train_seconds": train_seconds, **more_attrs}
    trial = optuna.trial.create_trial(state=state, value=acc if state == optuna.trial.TrialState.COMPLETE else None,
                                      user_attrs=attrs)
    trial.number = number
    return trial


def test_auto_is_multi_on_the_cpu_and_full_on_a_gpu_or_for_pareto():
    assert resolve_fidelity(SearchSettings(), on_gpu=False) == Fidelity.MULTI
    assert resolve_fidelity(SearchSettings(), on_gpu=True) == Fidelity.FULL
    assert resolve_fidelity(SearchSettings(objective=Objective.PARETO), on_gpu=False) == Fidelity.FULL
    assert resolve_fidelity(SearchSettings(fidelity="full"), on_gpu=False) == Fidelity.FULL
    with pytest.raises(NasError, match="--objective accuracy"):
        resolve_fidelity(SearchSettings(fidelity="multi", objective=Objective.PARETO), on_gpu=False)


def test_the_default_plan_trains_seven_candidates_in_full():
    ladder = rungs(Fidelity.MULTI, 20, 50_000)
    assert ladder[-1] == Rung(20, 50_000) and all(r.cost < ladder[-1].cost for r in ladder[:-1])
    assert [s.trainings for s in plan(50, ladder)] == [50, 25, 7]
    assert rungs(Fidelity.FULL, 20, 50_000) == [Rung(20, 50_000)]
    # a rung no cheaper than full training is left out: a small run has full training alone
    assert rungs(Fidelity.MULTI, 1, 3_000) == [Rung(1, 3_000)]
    # shares count from the top: with one cheap rung left, it is the one that picks for full training
    assert promote_one_in(0, 3) == 2 and promote_one_in(1, 3) == promote_one_in(0, 2) == 3.5
    assert [s.trainings for s in plan(50, rungs(Fidelity.MULTI, 3, 2_000))] == [50, 14]


def test_promotions_take_the_best_share_of_each_rung_once():
    trials = [_result(0, 0.90)]
    assert due_promotion(trials, 3, final=False) is None  # 1 result: half of it is none yet
    trials.append(_result(1, 0.95))
    below, rung = due_promotion(trials, 3, final=False)
    assert (below.number, rung) == (1, 1)  # the better of two goes up
    trials.append(_result(2, 0.96, rung=1, candidate=1, state=optuna.trial.TrialState.RUNNING))
    assert due_promotion(trials, 3, final=False) is None  # taken up already, while it trains
    trials[-1] = _result(2, 0.0, rung=1, candidate=1, state=optuna.trial.TrialState.FAIL)
    assert due_promotion(trials, 3, final=False) is None  # and whatever became of it
    trials.append(_result(3, 0.99))  # now better than the one taken up, but the rung's share is spent
    assert due_promotion(trials, 3, final=False) is None
    trials.append(_result(4, 0.5))  # four at rung 0: a second goes up, the best not yet taken
    assert due_promotion(trials, 3, final=False)[0].number == 3


def test_a_candidate_too_slow_for_full_training_leaves_its_place_to_the_best_fast_one():
    trials = [_result(0, 0.99, train_seconds=40.0)] + [_result(n, 0.9 + n / 100) for n in range(1, 4)]
    assert due_promotion(trials, 3, final=False)[0].number == 0
    # 16,000 images in 40 s: 1,000,000 in 2,500 s; the others train them in 250 s
    limits = TimeLimits(full_cost=1_000_000, per_training=480, full_stage=1_800)
    assert due_promotion(trials, 3, final=False, limits=limits)[0].number == 3


def test_speed_is_the_fastest_epochs_so_a_slow_first_epoch_does_not_hold_a_candidate_back():
    # 40 s in all, but its second epoch trained 8,000 images in 2 s: 4,000/s
    trials = [_result(0, 0.99, train_seconds=40.0, epoch_train_seconds=[38.0, 2.0])]
    trials += [_result(n, 0.9 + n / 100) for n in range(1, 4)]
    assert due_promotion(trials, 3, final=False, limits=TimeLimits(1_000_000, 480, 1_800))[0].number == 0


def test_full_training_takes_the_best_in_order_that_fit_in_what_is_left_of_its_stage():
    """On a CPU, a slow candidate that ranks first still trains in full; the stage's time then
    skips those that would overrun it, and a finished training counts by its own seconds."""
    limits = TimeLimits(full_cost=1_000_000, per_training=480, full_stage=1_000)
    projected = {0: 600, 1: 400, 2: 450, 3: 250, 4: 300}  # seconds in full, at each one's speed below
    trials = [_result(n, 0.99 - n / 100, train_seconds=projected.get(n, 250) * 16_000 / 1_000_000)
              for n in range(14)]  # a single cheap rung: 14 results, a share of 4
    picks = []
    while (due := due_promotion(trials, 2, final=True, limits=limits)) is not None:
        picks.append(due[0].number)
        trials.append(_result(100 + len(picks), 0.995, rung=1, candidate=due[0].number,
                              state=optuna.trial.TrialState.RUNNING))
    # 0 is too slow to go up at all; 1 and 2 take 850 s of the 1,000; no other fits in 150 s
    assert picks == [1, 2]
    trials[-2] = _result(101, 0.995, rung=1, candidate=1, seconds=300.0)  # 1 finished in 300 s, not 400
    assert due_promotion(trials, 2, final=True, limits=limits)[0].number == 3  # 250 s fit now


def test_where_no_candidate_is_fast_enough_the_fastest_still_trains_in_full():
    limits = TimeLimits(full_cost=1_000_000, per_training=480, full_stage=1_800)
    trials = [_result(n, 0.99 - n / 100, train_seconds=40.0 - n) for n in range(4)]  # 2,000-2,500 s in full
    assert due_promotion(trials, 2, final=False, limits=limits) is None  # while candidates come, none goes
    below, rung = due_promotion(trials, 2, final=True, limits=limits)
    assert (below.number, rung) == (3, 1)  # at the end, the fastest
    trials.append(_result(4, 0.99, rung=1, candidate=3, state=optuna.trial.TrialState.RUNNING))
    assert due_promotion(trials, 2, final=True, limits=limits) is None  # and that one only


def test_full_training_waits_for_the_last_candidate_and_then_takes_the_best_share():
    """Promotions to full training, the costly ones, wait until no new candidate will come, so they
    pick from all of the rung below, not from its first few results."""
    trials = [_result(n, 0.9) for n in range(24)] + [_result(24 + n, 0.95 + n / 1000, rung=1, candidate=n)
                                                     for n in range(12)]
    assert due_promotion(trials, 3, final=False) is None  # 12 at rung 1: 3 are due, but candidates still come
    firsts = []
    for number in range(40, 43):
        firsts.append(due_promotion(trials, 3, final=True))
        trials.append(_result(number, 0.99, rung=2, candidate=firsts[-1][0].user_attrs["candidate"]))
    assert [(below.number, rung) for below, rung in firsts] == [(35, 2), (34, 2), (33, 2)]  # the best of rung 1
    assert due_promotion(trials, 3, final=True) is None  # 12 // 3.5: the share is spent
    # with a single cheap rung, the one below full training waits too
    assert due_promotion([_result(n, 0.9) for n in range(8)], 2, final=False) is None


def test_at_the_end_the_last_candidates_go_up_before_full_training_picks():
    """The last candidates' second rung comes before any full training, so they can be picked."""
    trials = [_result(n, 0.9 - n / 1000) for n in range(14)]
    trials += [_result(14 + n, 0.95, rung=1, candidate=n) for n in range(6)]  # 6 of the 7 due are up
    assert due_promotion(trials, 3, final=True)[0].number == 6  # the seventh goes to rung 1 first
    trials.append(_result(20, 0.99, rung=1, candidate=6))
    below, rung = due_promotion(trials, 3, final=True)
    assert (below.number, rung) == (20, 2)  # and, the best there, is trained in full
    # a small search still trains its best in full: the end sends one up from a rung with too few for a share
    assert due_promotion([_result(0, 0.9), _result(1, 0.97, rung=1, candidate=0)], 3, final=True)[1] == 2


def test_multi_fidelity_search_trains_the_best_in_full_and_ranks_it_first(mnist_dir, tmp_path):
    db = f"sqlite:///{tmp_path}/t.db"
    result = run_nas("search", "--trials", "2", "--epochs", "3", "--subset", "2000",
                     "--val-subset", "1000", "--device", "cpu", "--space", "tiny", "--study", "t", "--storage", db,
                     "--results-dir", tmp_path / "results")
    assert result.exit_code == 0, result.stderr
    assert "Multi-fidelity search" in result.stdout and "the best 1 × 3 epochs × 2,000" in result.stdout
    assert "2 trials trained (and 1 training of the best at higher rungs)" in result.stdout
    rows = _board(db, "t")
    assert len(rows) == 3
    top, rest = rows[0], rows[1:]
    assert top["full"] and top["epochs"] == 3 and top["images"] == 2000 and top["rank"] == 1
    assert all(not r["full"] and r["epochs"] == 2 and r["images"] == 2000 for r in rest)
    # the Pareto front compares fully trained trials only: lower rungs trained less
    assert top["pareto"] and not any(r["pareto"] for r in rest)
    study = optuna.load_study(study_name="t", storage=db)
    first = {t.number: t for t in study.trials}[top["trial"]]
    candidate = study.trials[first.user_attrs["candidate"]]
    # the promoted training is the best cheap candidate, trained again from its own parameters
    assert candidate.params == first.params and candidate.user_attrs["rung"] == 0
    # each epoch's training seconds are stored: the speed that decides a promotion on a CPU
    assert len(first.user_attrs["epoch_train_seconds"]) == 3 and min(first.user_attrs["epoch_train_seconds"]) > 0
    assert candidate.value == max(t.value for t in study.trials if t.user_attrs["rung"] == 0)
    # a cheap rung validates after its last epoch only; full training after every epoch
    assert candidate.user_attrs["val_acc_history"] == [None, candidate.value]
    assert candidate.intermediate_values == {2: candidate.value}
    assert len(first.user_attrs["val_acc_history"]) == 3 and None not in first.user_attrs["val_acc_history"]
    assert (tmp_path / "results" / "t" / f"trial_{top['trial']}" / "weights.pt").exists()

    result = run_nas("search", "--trials", "2", "--epochs", "3", "--subset", "2000", "--val-subset", "1000",
                     "--device", "cpu", "--space", "tiny", "--study", "f", "--storage", db,
                     "--results-dir", tmp_path / "results", "--fidelity", "full")
    assert result.exit_code == 0, result.stderr
    assert "Multi-fidelity" not in result.stdout and "2 trials trained," in result.stdout
    rows = _board(db, "f")
    assert len(rows) == 2 and all(r["full"] and r["epochs"] == 3 and r["images"] == 2000 for r in rows)


SMALL_NET = [conv(8), bn(), act(), pool(), residual(conv(8), bn(), act(), conv(8), bn()), act(), pool(),
             conv(16), bn(), act(), gap(), head()]


def test_compiled_cpu_training_learns_like_eager(mnist_dir):
    train_data, val_data = load_train_val(mnist_dir, subset=5000, val_subset=1000)
    results = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # a small net of the v2 family: a cold compile of the 14,770-param reference net takes ~40 s
            results[compiled] = train(build(SMALL_NET), train_data, val_data, Recipe(epochs=2), device="cpu",
                                      compile=compiled)
        assert not [w for w in caught if "could not be compiled" in str(w.message)]  # no fallback to eager
    assert results[True].compiled and not results[False].compiled
    # 78 steps: eager reaches about 90%; compiled arithmetic differs in rounding only
    assert results[True].best_val_acc > 0.7
    assert abs(results[True].best_val_acc - results[False].best_val_acc) < 0.06


def test_each_model_of_a_process_is_compiled_afresh(mnist_dir):
    """torch.compile's cache is keyed by the trainer's code, shared by all models: without a fresh
    start per model, the process's 9th model ran eagerly. With a limit of 1, the second would."""
    train_data, val_data = load_train_val(mnist_dir, subset=1000, val_subset=500)
    with torch._dynamo.config.patch(recompile_limit=1, fail_on_recompile_limit_hit=True):
        for width in (8, 12):  # two architectures, one after the other
            net = [conv(width), bn(), act(), pool(), conv(16), bn(), act(), gap(), head()]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = train(build(net), train_data, val_data, Recipe(epochs=1), device="cpu", compile=True)
            assert result.compiled and not [w for w in caught if "could not be compiled" in str(w.message)]
