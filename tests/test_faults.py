"""Bad input and faults: one line on stderr saying what is wrong and what to do, exit 2, no traceback."""

from __future__ import annotations

import ast
import gzip
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
import uuid
from contextlib import closing

import optuna
import pytest
import torch
from optuna.trial import TrialState

from helpers import MODELS, ROOT, run_nas
from nas.arch import source

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


@pytest.mark.parametrize("command", ["train", "search"])
def test_a_missing_data_dir_is_not_created(tmp_path, command):
    """Nor is a study: a search that cannot train leaves no empty storage behind, whose 'no complete
    trial' would hide the real cause from the next command."""
    missing = tmp_path / "no" / "such" / "dir"
    storage = tmp_path / "s.db"
    what = [MODELS / "seed_net.py"] if command == "train" else [
        "--trials", "1", "--storage", f"sqlite:///{storage}", "--results-dir", tmp_path / "results"]
    result = run_nas(command, *what, *QUICK, "--data-dir", missing)
    # the command that fills this folder: plain `nas data` fills ./data
    one_line_error(result, "does not exist", f"`nas data --data-dir {missing}`", "train-images-idx3-ubyte.gz")
    assert not (tmp_path / "no").exists() and not storage.exists()


SECRET_URLS = [  # (URL, what must never be shown)
    ("postgresql://nas:S3cret-pw@127.0.0.1:1/nas_test", "S3cret-pw"),  # unreachable
    ("postgresql://nas:p@ss-S3cret@127.0.0.1:1/nas_test", "ss-S3cret"),  # a raw @ in the password
    ("postgresql://nas@127.0.0.1:1/nas_test?password=S3cret-q", "S3cret-q"),  # as a parameter
    ("notadb://nas:S3cret-x@host/db", "S3cret-x"),  # not even a storage URL
]


@pytest.mark.parametrize("url, secret", SECRET_URLS)
def test_no_command_prints_a_password(url, secret, mnist_dir, tmp_path):
    for args in (["leaderboard"], ["search", "--trials", "1", *QUICK, "--results-dir", tmp_path],
                 ["export", "0", "-o", tmp_path / "m.py"], ["report", "--out", tmp_path],
                 ["evaluate", "0", *QUICK[:2]]):
        result = run_nas(*args, "--storage", url)
        one_line_error(result, "storage")
        assert secret not in result.output
    debug = subprocess.run([sys.executable, "-m", "nas", "--debug", "leaderboard", "--storage", url],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr  # --debug shows where, still not the password
    assert secret not in debug.stdout + debug.stderr


def test_postgres_password_is_never_printed(postgres_url, mnist_dir, tmp_path):
    password = postgres_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    study = f"secret-{uuid.uuid4().hex[:8]}"
    result = run_nas("search", "--trials", "1", *QUICK, "--space", "tiny", "--study", study,
                     "--storage", postgres_url, "--results-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "Next: nas evaluate" in result.stderr and "--storage 'postgresql://nas:***@" in result.stderr
    wrong = postgres_url.replace(password, "Wr0ng-pw")
    for args in (["leaderboard", "--storage", wrong], ["--debug", "leaderboard", "--storage", wrong],
                 ["leaderboard", "--study", "nope", "--storage", postgres_url]):
        proc = subprocess.run([sys.executable, "-m", "nas", *args], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        assert proc.returncode != 0
        assert password not in proc.stdout + proc.stderr and "Wr0ng-pw" not in proc.stdout + proc.stderr
    assert password not in result.output


def test_a_foreign_sqlite_database_is_refused_and_left_alone(mnist_dir, tmp_path):
    db = tmp_path / "app.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE users (id INTEGER, name TEXT)")
        conn.commit()
    before = db.read_bytes()
    for args in (["leaderboard"], ["search", "--trials", "1", *QUICK, "--results-dir", tmp_path / "results"]):
        one_line_error(run_nas(*args, "--storage", f"sqlite:///{db}"), "not an Optuna storage", "users")
    assert db.read_bytes() == before  # Optuna added no table to it
    (tmp_path / "text.db").write_text("some notes\n" * 100)
    one_line_error(run_nas("leaderboard", "--storage", f"sqlite:///{tmp_path}/text.db"), "is not a SQLite database")


def test_a_storage_file_that_cannot_be_created_exits_2(mnist_dir, tmp_path):
    result = run_nas("search", "--trials", "1", *QUICK, "--storage", "sqlite:////dev/null/x.db",
                     "--results-dir", tmp_path)
    one_line_error(result, "/dev/null", "--storage")


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "..", "x..y", ".hidden", "", "a" * 101, 'q"""q'])
def test_study_names_that_could_leave_results_are_refused(name, mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/t.db"
    for args in (["search", "--trials", "1", *QUICK, "--results-dir", tmp_path / "results"], ["leaderboard"],
                 ["report", "--out", tmp_path / "plots"], ["export", "0", "-o", tmp_path / "m.py"],
                 ["evaluate", "0", *QUICK[:2]]):
        one_line_error(run_nas(*args, "--study", name, "--storage", storage), "study name", "is not allowed")
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["t.db"])  # nothing else written


SMALL = ('[{"type": "conv", "out": 8}, {"type": "bn"}, {"type": "act"}, {"type": "maxpool"}, '
         '{"type": "conv", "out": 16}, {"type": "bn"}, {"type": "act"}, {"type": "gap"}, {"type": "head", "out": 10}]')


def space_file(tmp_path, body: str):
    path = tmp_path / "broken.py"
    path.write_text(f"SMALL = {SMALL}\n\n\ndef suggest(trial, rules):\n    trial.suggest_float('lr', 0.05, 0.2)\n"
                    f"    {body}\n")
    return path


@pytest.mark.parametrize("body, words", [
    ('raise RuntimeError("boom")', "raised (RuntimeError: boom)"),
    ("return [SMALL]", "a list, not"),
    ('return {"arch": SMALL, "recipe": {"lrr": 0.1}}', "unexpected keyword argument 'lrr'"),
    ('return {"arch": SMALL, "recipe": {"lr": "fast"}}', "recipe lr='fast' is not a finite number"),
    ('return {"arch": [{"type": "conv", "out": "16"}] + SMALL}', "layer 0 (conv): out='16' is not a whole number"),
    ('return {"arch": [{"type": "conv", "out": 16, "kernal": 5}] + SMALL}', "unknown key(s) kernal"),
    ('return {"arch": [{"type": "conv", "out": 8}, {"type": "conv", "out": 16, "groups": 3}] + SMALL}', "groups=3"),
    ('return {"arch": [{"type": "lstm"}] + SMALL}', "layer 0: unknown layer spec"),
    ('return {"arch": [{"type": "residual", "body": [{"type": "maxpool"}]}] + SMALL}',
     "layer 0 (residual) body layer 0: unknown layer spec"),
    ('return {"arch": "c8-M-c16-G-h10"}', "a non-empty list of layer specs, not"),
])
def test_a_broken_space_stops_the_search_with_one_line(body, words, mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/t.db"
    result = run_nas("search", "--trials", "1", *QUICK, "--space", space_file(tmp_path, body), "--study", "t",
                     "--storage", storage, "--results-dir", tmp_path / "results")
    one_line_error(result, "search space 'broken'", "is broken", words, "fix the space")
    trials = optuna.load_study(study_name="t", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.FAIL]  # told, not left running
    assert words in trials[0].user_attrs["reason"]


def test_stored_strings_never_become_code_in_an_export(tmp_path):
    storage = f"sqlite:///{tmp_path}/t.db"
    marker = tmp_path / "PWNED"
    evil = f'"""\nopen({str(marker)!r}, "w").close()\n"""'
    study = optuna.create_study(storage=storage, study_name="t", direction="maximize")
    attrs = {"arch": json.loads(SMALL), "arch_string": evil, "total_params": 1, "epochs": evil,
             "recipe": {"optimizer": evil, "lr": 0.1}}
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs=attrs))
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs=attrs | {
        "arch": [{"type": "conv", "out": evil}] + json.loads(SMALL)}))
    out = tmp_path / "m.py"
    assert run_nas("export", "0", "-o", out, "--study", "t", "--storage", storage).exit_code == 0
    assert run_nas("validate", out).exit_code == 0 and not marker.exists()
    assert "c8-M-c16-G-h10" in out.read_text()  # the architecture string is made again, not read back
    one_line_error(run_nas("export", "1", "-o", tmp_path / "m1.py", "--study", "t", "--storage", storage),
                   "layer 0 (conv): out=", "is not a whole number")
    assert not marker.exists() and not (tmp_path / "m1.py").exists()


def test_a_generated_file_holds_its_doc_as_comments_only():
    doc = 'x"""\nimport os\r\x00\u2028y\n\'\'\'z'
    tree = ast.parse(source(json.loads(SMALL), doc=doc))
    assert [type(node).__name__ for node in tree.body] == ["Expr", "ImportFrom", "ClassDef", "FunctionDef"]
    assert ast.get_docstring(tree) == "A bias-free, fully-connected-free MNIST net exported by nas."


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """A real one-trial study of the tiny space, and where it lives."""
    root = tmp_path_factory.mktemp("trained")
    storage = f"sqlite:///{root}/s.db"
    result = run_nas("search", "--trials", "1", *QUICK, "--space", "tiny", "--study", "s", "--storage", storage,
                     "--results-dir", root / "results")
    assert result.exit_code == 0, result.stderr
    [trial] = optuna.load_study(study_name="s", storage=storage).get_trials(states=(TrialState.COMPLETE,))
    return storage, trial.number, root / "results" / "s" / f"trial_{trial.number}" / "weights.pt"


@pytest.mark.parametrize("tamper, words", [
    (lambda path: path.write_bytes(b"not a torch file" * 10), "is damaged"),
    (lambda path: path.write_bytes(path.read_bytes()[:200]), "is damaged"),
    (lambda path: torch.save([1, 2, 3], path), "holds a list, not a state_dict"),
    (lambda path: torch.save({"block1.0.weight": "text"}, path), "holds a dict, not a state_dict"),
    (lambda path: torch.save({"x": torch.zeros(3)}, path), "do not fit its architecture"),
])
@pytest.mark.parametrize("option", ["--weights", "--onnx"])
def test_tampered_weights_exit_2_on_export(trained, tmp_path, tamper, words, option):
    storage, number, weights = trained
    original = weights.read_bytes()
    try:
        tamper(weights)
        result = run_nas("export", number, "-o", tmp_path / "m.py", option, tmp_path / "w", "--study", "s",
                         "--storage", storage)
    finally:
        weights.write_bytes(original)
    one_line_error(result, f"trial {number}'s", words, "rerun the trial")
    assert not (tmp_path / "w").exists()



def nas_on_tmpfs(mount, options: str, *args) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`nas ARGS` with a tmpfs (e.g. size=8k, or ro) at `mount`, in a private mount namespace:
    a real full or read-only disk without root. Returns the run and the files left on the tmpfs."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-Urm", "true"]).returncode != 0:
        pytest.skip("needs `unshare -Urm` (user namespaces) to mount a small or read-only tmpfs")
    mount.mkdir(parents=True, exist_ok=True)
    listing = mount.parent / f"{mount.name}.files"
    script = ('mnt=$1; out=$2; opts=$3; shift 3; mount -t tmpfs -o "$opts" tmpfs "$mnt" || exit 97; '
              '"$@"; rc=$?; find "$mnt" -type f > "$out"; exit $rc')
    proc = subprocess.run(["unshare", "-Urm", "sh", "-c", script, "sh", mount, listing, options,
                           sys.executable, "-m", "nas", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode != 97, proc.stderr
    return proc, listing.read_text().split()


def clean_failure(proc, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for word in words:
        assert word in proc.stderr


def test_a_full_disk_fails_the_trial_and_leaves_no_temp_file(mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/t.db"
    proc, files = nas_on_tmpfs(tmp_path / "results", "size=8k", "search", "--trials", "1", *QUICK, "--space",
                               "tiny", "--study", "t", "--storage", storage, "--results-dir", tmp_path / "results")
    clean_failure(proc, "No space left on device", "weights.pt")
    assert not [f for f in files if f.endswith(".tmp")]
    trials = optuna.load_study(study_name="t", storage=storage).trials
    assert TrialState.RUNNING not in {t.state for t in trials}
    [failed] = [t for t in trials if t.user_attrs.get("status") == "failed"]
    assert failed.state == TrialState.FAIL and "No space left on device" in failed.user_attrs["reason"]
    assert len(failed.user_attrs["val_acc_history"]) == 1  # it trained, then could not be saved


def test_a_read_only_results_dir_or_out_fails_before_training(mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/t.db"
    proc, _ = nas_on_tmpfs(tmp_path / "ro", "ro", "search", "--trials", "1", *QUICK, "--space", "tiny", "--study",
                           "t", "--storage", storage, "--results-dir", tmp_path / "ro")
    clean_failure(proc, "Read-only file system", "--results-dir")
    assert not (tmp_path / "t.db").exists()  # it stopped before the study was even opened
    proc, _ = nas_on_tmpfs(tmp_path / "ro", "ro", "train", MODELS / "seed_net.py", *QUICK, "--out",
                           tmp_path / "ro" / "run")
    clean_failure(proc, "Read-only file system", "--out")
    assert "epoch" not in proc.stderr.lower()


def test_an_out_folder_that_cannot_be_made_fails_before_training(mnist_dir, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    train = run_nas("train", MODELS / "seed_net.py", *QUICK, "--out", tmp_path / "file" / "run")
    one_line_error(train, "cannot write to", "Not a directory", "--out")
    search = run_nas("search", "--trials", "1", *QUICK, "--study", "t", "--storage", f"sqlite:///{tmp_path}/t.db",
                     "--results-dir", tmp_path / "file")
    one_line_error(search, "cannot write to", "--results-dir")


@pytest.mark.parametrize("args, words", [
    (["--top", "0"], "--top 0 is not a number of rows"), (["--top", "-1"], "--top -1 is not a number of rows"),
    (["--timeout", "-5"], "--timeout -5.0 is not a number of seconds"),
    (["--space", "missing_space.py"], "no such file; pass the path of a Python file that defines a search space"),
])
def test_bad_search_numbers_and_spaces_exit_2_before_anything(args, words, mnist_dir, tmp_path):
    result = run_nas("search", "--trials", "1", *QUICK, "--study", "t", "--storage", f"sqlite:///{tmp_path}/t.db",
                     "--results-dir", tmp_path / "results", *args)
    assert "a model" not in one_line_error(result, words)
    assert list(tmp_path.iterdir()) == []  # failed before the storage or results were touched


def test_leaderboard_top_must_be_positive(trained):
    storage = trained[0]
    for top in ("0", "-1"):
        one_line_error(run_nas("leaderboard", "--top", top, "--study", "s", "--storage", storage), f"--top {top}")
    result = run_nas("leaderboard", "--top", "1", "--study", "s", "--storage", storage, "--format", "json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 1
