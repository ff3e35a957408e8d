"""Scale out and never lose a trial: PostgreSQL, several processes, SIGKILL recovery, bad storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from helpers import ROOT, run_nas, wait_until

SMALL = ["--epochs", "1", "--subset", "2000", "--val-subset", "1000", "--device", "cpu", "--space", "tiny"]


def nas_process(*args: str, threads: int | None = None) -> subprocess.Popen:
    env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    return subprocess.Popen([sys.executable, "-m", "nas", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    return request.getfixturevalue("postgres_url")


def test_two_processes_share_one_postgres_study(mnist_dir, postgres_url, tmp_path):
    study = f"pair-{uuid.uuid4().hex[:8]}"
    # on several machines, give each process its own --seed so they sample different candidates;
    # on one, a share of its cores (two processes of 2 threads each on 2 cores: 5x slower, measured)
    procs = [nas_process("search", "--trials", "2", *SMALL, "--study", study, "--storage", postgres_url,
                         "--seed", seed, "--results-dir", tmp_path / "results", threads=1) for seed in (1, 2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "error" not in err.lower()
    trials = optuna.load_study(study_name=study, storage=postgres_url).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 4
    assert len({t.number for t in trials}) == len(trials)
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 4  # no candidate twice


def _wait_for(study: str, url: str, ready, timeout: float = 240) -> optuna.Study:
    def loaded_when_ready() -> optuna.Study | None:
        try:
            loaded = optuna.load_study(study_name=study, storage=url)
        except KeyError:  # not created yet
            return None
        return loaded if ready(loaded.trials) else None

    return wait_until(loaded_when_ready, "the state the test waits for", timeout)


def _wait_until_stale(url: str, study: str, trial: optuna.trial.FrozenTrial, heartbeat: int) -> None:
    """Until Optuna takes `trial`'s worker for dead, as the next worker's fail_stale_trials will: its
    last heartbeat is more than the grace period (2 heartbeats) old by the database's clock."""
    storage = optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat)
    study_id = storage.get_study_id_from_name(study)
    try:
        wait_until(lambda: trial._trial_id in storage._get_stale_trial_ids(study_id),
                   f"trial {trial.number}'s heartbeat to go stale", timeout=60)
    finally:
        storage.engine.dispose()


def test_a_killed_worker_loses_nothing_and_its_trial_is_retried(mnist_dir, storage, tmp_path):
    study = f"kill-{uuid.uuid4().hex[:8]}"
    # full fidelity: every epoch is validated and reported, so "mid-training" can be seen from the storage
    common = ["--epochs", "4", "--subset", "2000", "--val-subset", "1000", "--device", "cpu", "--space", "tiny",
              "--pruner", "none", "--fidelity", "full", "--study", study, "--storage", storage, "--heartbeat", "1",
              "--results-dir", tmp_path / "results"]
    # 3 trials: the killed one and one either side; as a short search it spends no time measuring the CPU
    worker = nas_process("search", "--trials", "3", *common)

    def mid_trial(trials) -> bool:  # one trial finished, and the next has trained an epoch
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING and t.intermediate_values]
        return len(done) >= 1 and bool(running)

    before = _wait_for(study, storage, mid_trial)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    killed = [t for t in optuna.load_study(study_name=study, storage=storage).trials if t.state == TrialState.RUNNING]
    assert len(killed) == 1
    finished_before = {t.number for t in before.trials if t.state == TrialState.COMPLETE}

    # past the grace period (2 heartbeats): the killed worker is now known dead
    _wait_until_stale(storage, study, killed[0], heartbeat=1)
    result = subprocess.run([sys.executable, "-m", "nas", "search", "--trials", "1", *map(str, common)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    trials = optuna.load_study(study_name=study, storage=storage).trials
    by_number = {t.number: t for t in trials}
    assert by_number[killed[0].number].state == TrialState.FAIL  # marked failed
    retries = [t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed[0].number]
    assert [t.state for t in retries] == [TrialState.COMPLETE]  # and run again, to completion
    assert retries[0].params == killed[0].params
    assert finished_before <= {t.number for t in trials if t.state == TrialState.COMPLETE}  # nothing lost
    assert TrialState.RUNNING not in {t.state for t in trials}


@pytest.mark.parametrize("url, secret", [("notadb://user:topsecret1@host/db", "topsecret1"),
                                         ("postgresql://nas:topsecret2@127.0.0.1:1/nas_test", "topsecret2")])
def test_bad_or_unreachable_storage_exits_2_without_the_password(url, secret, mnist_dir, tmp_path):
    for args in (["leaderboard", "--storage", url],
                 ["search", "--trials", "1", *SMALL, "--storage", url, "--results-dir", tmp_path]):
        result = run_nas(*args)
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "storage" in result.stderr
        assert secret not in result.output


def test_wrong_password_exits_2_without_the_password(postgres_url, mnist_dir):
    wrong = postgres_url.replace("nas-test-pw", "not-the-pw-42")
    assert wrong != postgres_url
    result = run_nas("leaderboard", "--storage", wrong)
    assert result.exit_code == 2
    assert "password authentication failed" in result.stderr and "not-the-pw-42" not in result.output


def test_processes_opening_a_new_storage_file_at_once_all_get_it(tmp_path):
    """Workers, or a worker and a reader, that create the same SQLite storage at the same moment:
    the one that loses the race to write the schema opens it instead of failing."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = ("import sys; from nas.storage import open_study; import optuna; "
            "open_study(sys.argv[1], 's', optuna.samplers.RandomSampler(), optuna.pruners.NopPruner())")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert optuna.load_study(study_name="s", storage=url).trials == []
