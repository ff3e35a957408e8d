"""`nas validate` against files written to slip past it, and files that misbehave.

Each file under tests/models/ named breaks_*, fault_* or legal_* says on its docstring's first
line what must happen: `expect: exit 1 RULE` (the rule named), `expect: exit 2 WORDS` (one line
that contains WORDS), or `expect: exit 0`. `strict` at the end of the line adds --strict.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from helpers import MODELS, run_nas
from nas import graph, validator
from nas.errors import NasError
from nas.modelfile import load_model

TIMEOUT = 5  # seconds: the limit files that never return are judged with (`expect: exit 2 within`)
CASES = sorted(p for prefix in ("breaks_", "fault_", "legal_") for p in MODELS.glob(f"{prefix}*.py"))
# judged by `python -m nas` in a process of its own, whose exit code is the one a user sees: this
# file's recording holds 14,400 tensors, and freeing them as Python exited once aborted it (exit 134)
WHOLE_PROCESS = {"breaks_params_integer_scalars"}


def expectation(path) -> tuple[int, str, list[str]]:
    """(exit code, rule or words, extra options) from the file's docstring."""
    line = ast.get_docstring(ast.parse(path.read_text())).splitlines()[0]
    words = line.removeprefix("expect: exit ").split()
    options = ["--strict"] if words[-1] == "strict" else []
    return int(words[0]), " ".join(w for w in words[1:] if w != "strict"), options


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_file_gets_the_verdict_it_deserves(path):
    code, expected, options = expectation(path)
    limit = TIMEOUT if expected == "within" else 60
    start = time.monotonic()
    if path.stem in WHOLE_PROCESS:
        proc = subprocess.run([sys.executable, "-m", "nas", "validate", str(path), "--json", "--timeout", str(limit),
                               *options], capture_output=True, text=True, timeout=limit + 60)
        exit_code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        result = run_nas("validate", path, "--json", "--timeout", limit, *options)
        exit_code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    seconds = time.monotonic() - start
    assert exit_code == code, (stdout[-800:], stderr)
    assert "Traceback" not in stdout + stderr
    if code == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], lines
        assert seconds < limit + 5
    else:
        report = json.loads(stdout)
        rules = {v["rule"] for v in report["violations"]}
        assert report["ok"] == (code == 0)
        assert (expected in rules) if code == 1 else rules == set(), rules


def test_the_checker_outlives_a_forward_that_never_returns_within_the_limit():
    start = time.monotonic()
    result = run_nas("validate", MODELS / "fault_forward_never_returns.py", "--timeout", 2)
    assert result.exit_code == 2 and "within 2 s" in result.stderr
    assert time.monotonic() - start < 2 + 5


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_not_a_model_file(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "model.py"
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    start = time.monotonic()
    result = run_nas("validate", path)
    assert result.exit_code == 2 and "not a regular file" in result.stderr
    assert time.monotonic() - start < 5


def test_a_txt_file_is_refused_with_one_line(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text((MODELS / "seed_net.py").read_text())
    result = run_nas("validate", path)
    assert result.exit_code == 2 and "not a .py file" in result.stderr


def test_json_stays_valid_when_the_model_prints(tmp_path):
    path = tmp_path / "chatty.py"
    path.write_text("print('hello from the model file')\n" + (MODELS / "seed_net.py").read_text())
    result = run_nas("validate", path, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True


def test_the_count_covers_every_stored_value_as_trained(mnist_dir, tmp_path):
    """A model that grows weights after the check fails in nas train, and writes no metrics."""
    path = tmp_path / "late.py"
    path.write_text('''
import torch
from torch import nn


class Late(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(4),
                                 nn.Conv2d(8, 10, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 40:  # well after any check, during training
            self.hoard = nn.Parameter(torch.zeros(20_000))
        return self.net(x)
''')
    out = tmp_path / "run"
    result = run_nas("train", path, "--epochs", "1", "--subset", "6000", "--device", "cpu", "--out", out)
    assert result.exit_code == 2
    assert "changed from" in result.stderr and "values while it trained" in result.stderr
    assert not (out / "metrics.json").exists()


def test_a_model_without_trainable_parameters_is_not_trained(mnist_dir, tmp_path):
    path = tmp_path / "frozen.py"
    path.write_text("from torch import nn\n\n\ndef build_model():\n"
                    "    net = nn.Sequential(nn.Conv2d(1, 10, 3, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())\n"
                    "    net.requires_grad_(False)\n    return net\n")
    result = run_nas("train", path, "--epochs", "1", "--subset", "1000", "--device", "cpu")
    assert result.exit_code == 2 and "no trainable parameters" in result.stderr


def recording(tmp_path, model=None):
    """The reference net (or `model`) as the file's process records it (nas.graph.record), and its graph."""
    folder = tmp_path / "recorded"
    graph.record(model or load_model(MODELS / "seed_net.py"), [(True, 3), (False, 3)], (1, 28, 28), folder)
    return folder, json.loads((folder / graph.GRAPH_FILE).read_text())


@pytest.mark.parametrize("change, words", [
    (lambda nodes: nodes[2].update(op="aten.from_file.default"), "not one of torch's own tensor operations"),
    (lambda nodes: nodes[2].update(op="os.system"), "not one of torch's own tensor operations"),
    (lambda nodes: nodes[2].update(args=[{"node": 50}]), "cannot be read"),
    (lambda nodes: nodes[2].update(args=[{"module": "os"}]), "cannot be read"),
    (lambda nodes: nodes[2].update(shape=[10**6, 10**6]), "over 67,108,864 values")])
def test_a_recording_is_data_that_names_only_torch_operations(tmp_path, change, words):
    """The file's process writes the recording nas's own process replays, so a recording is read
    as data: an operation outside aten, a reference forward, a value of an unknown kind or a
    tensor too big is refused in one NasError, before anything runs."""
    folder, graphs = recording(tmp_path)
    assert graph.load(folder) is not None  # as recorded, it loads
    change(graphs[0]["nodes"])
    (folder / graph.GRAPH_FILE).write_text(json.dumps(graphs))
    with pytest.raises(NasError, match=words):
        graph.load(folder)


def test_the_recorded_model_computes_what_the_model_computed(tmp_path):
    """Replayed in nas's own process, the recording gives the model's outputs, and the validator
    finds the same params in it."""
    model = load_model(MODELS / "seed_net.py").eval()
    images = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(3))  # as record() draws them
    folder, _ = recording(tmp_path, model)
    recorded = graph.load(folder).eval()
    assert torch.allclose(recorded(images), model(images), atol=1e-5)
    assert validator.check(recorded, batch_sizes=(3,)).total_params == 14_770


def test_a_recording_that_computes_for_hours_ends_nas_in_one_line(tmp_path):
    """A recording can hold an operation that runs for minutes, which nothing can interrupt: nas's
    own process ends itself once one runs past --timeout, exit 2 and one line, and leaves no
    recording behind. In a subprocess: it is the process that ends."""
    env = os.environ | {"TMPDIR": str(tmp_path)}
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "nas", "validate", MODELS / "recording_computes_for_hours.py",
                             "--timeout", "5"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ran one operation past 5 s in nas's own process" in lines[0], lines
    assert time.monotonic() - start < 90
    assert not any(tmp_path.iterdir())
