"""Search space v2: every shipped space's candidates build, pass the rules and export; the
descriptions of the first version still build the same modules; nothing generated is run."""

from __future__ import annotations

import ast
import json

import optuna
import pytest
import torch

from helpers import ROOT, run_nas
from nas.arch import build, normalized, residual, separable, conv, source
from nas.errors import NasError
from nas.modelfile import load_model
from nas.search import sample_space
from nas.validator import count_params

SHIPPED = ["default", "tiny", "wide"]
SAMPLE = 30  # candidates per space here; benchmarks/bench_spaces.py samples 200 and records the rejection share


def exported(arch: list[dict], path) -> torch.nn.Module:
    """The file `nas export` writes for a description, loaded back as a module."""
    path.write_text(source(arch))
    return load_model(path)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_random_sample_of_every_shipped_space_builds_passes_and_exports(name, tmp_path):
    sample = sample_space(name, count=SAMPLE, seed=0)
    rejected = [(reason, arch) for reason, arch in zip(sample.reasons, sample.archs) if reason]
    assert sample.rejected_share < 0.10, rejected[:5]
    assert not [reason for reason, _ in rejected if "receptive field" not in reason]  # no rule broken
    kinds = {spec["type"] for arch in sample.archs for spec in arch}
    assert {"residual", "separable", "se"} <= kinds  # the sample reaches every block
    x = torch.randn(4, 1, 28, 28)
    for i, arch in enumerate(sample.archs):
        model, copy = build(arch).eval(), exported(arch, tmp_path / f"c{i}.py").eval()
        copy.load_state_dict(model.state_dict())  # strict: the same keys and shapes
        assert torch.equal(model(x), copy(x))  # the same module, not just the same weights
    for i in range(3):  # the real command on a few exported files
        result = run_nas("validate", tmp_path / f"c{i}.py", "--json")
        assert result.exit_code == 0, result.stdout
        assert json.loads(result.stdout)["total_params"] == sample.total_params[i]


def test_fit_to_budget_goes_under_the_width_floor_only_when_the_floor_itself_is_over_budget():
    from dataclasses import replace

    from nas.arch import act, bn, fit_to_budget, gap, head, total_params
    from nas.rules import Rules
    many = [layer for _ in range(27) for layer in (conv(16, 5), bn(), act())] + [gap(), head()]
    fitted = fit_to_budget(many, replace(Rules(), max_params=5_000))  # 27 5×5 convs at width 4: 11k
    assert total_params(fitted) < 5_000
    few = [conv(32), bn(), act(), conv(32), bn(), act(), gap(), head()]
    assert min(s["out"] for s in fit_to_budget(few, replace(Rules(), max_params=2_000)) if s["type"] == "conv") >= 4


def test_descriptions_stored_by_the_first_version_build_the_same_modules():
    stored = json.loads((ROOT / "tests" / "stored" / "descriptions_v1.json").read_text())
    assert len(stored) == 24
    for old in stored:  # captured by commit f9f3138 from default, tiny and wide
        model = build(old["arch"])
        assert repr(model) == old["module"]
        assert {k: list(v.shape) for k, v in model.state_dict().items()} == old["state_dict"]
        assert sum(count_params(model)) == old["total_params"]


def test_a_study_stored_by_the_first_version_still_lists_exports_and_loads_its_weights(tmp_path):
    """Trials as the first version's search stored them (its descriptions, its weights files with
    its state_dict keys), in a real storage file: the leaderboard lists them and export rebuilds
    each model from its stored description and loads its weights."""
    stored = json.loads((ROOT / "tests" / "stored" / "descriptions_v1.json").read_text())[:4]
    storage = f"sqlite:///{tmp_path}/v1.db"
    study = optuna.create_study(study_name="v1", storage=storage, direction="maximize")
    for number, old in enumerate(stored):
        weights = tmp_path / f"trial_{number}.pt"
        torch.save({key: torch.full(shape, 0.5) for key, shape in old["state_dict"].items()}, weights)
        study.add_trial(optuna.trial.create_trial(value=0.9 + number / 100, user_attrs={
            "space": old["space"], "arch": old["arch"], "arch_string": "", "recipe": {"epochs": 1}, "epochs": 1,
            "total_params": old["total_params"], "weights": str(weights), "status": "complete"}))
    board = run_nas("leaderboard", "--study", "v1", "--storage", storage, "--format", "json")
    assert board.exit_code == 0, board.stderr
    assert sorted(row["trial"] for row in json.loads(board.stdout)) == [0, 1, 2, 3]
    for number, old in enumerate(stored):
        out, weights = tmp_path / f"t{number}.py", tmp_path / f"t{number}.pt"
        result = run_nas("export", number, "--study", "v1", "--storage", storage, "-o", out, "--weights", weights)
        assert result.exit_code == 0, result.stdout
        model = load_model(out)
        model.load_state_dict(torch.load(weights, weights_only=True))  # strict: the first version's keys
        assert sum(count_params(model)) == old["total_params"]


def test_nas_runs_no_generated_code():
    """No eval or exec in nas/: descriptions become modules through constructors (user files are
    imported as files, by modelfile.import_file)."""
    calls = []
    for path in (ROOT / "nas").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("eval", "exec"):
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def test_a_search_with_every_block_exports_a_file_that_validates_and_loads_the_trial_weights(mnist_dir, tmp_path):
    storage = f"sqlite:///{tmp_path}/b.db"
    result = run_nas("search", "--trials", "1", "--epochs", "1", "--subset", "500", "--val-subset", "500",
                     "--device", "cpu", "--space", ROOT / "tests" / "spaces" / "every_block.py", "--study", "b",
                     "--storage", storage, "--results-dir", tmp_path / "results")
    assert result.exit_code == 0, result.stderr
    out, weights = tmp_path / "every_block.py", tmp_path / "every_block.pt"
    result = run_nas("export", "0", "-o", out, "--weights", weights, "--study", "b", "--storage", storage)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert "class Residual(nn.Module):" in text and "class SqueezeExcite(nn.Module):" in text  # standalone
    assert "import torch" not in text.replace("from torch import nn", "")
    assert run_nas("validate", out).exit_code == 0
    model = load_model(out)
    model.load_state_dict(torch.load(weights, weights_only=True))
    trial = optuna.load_study(study_name="b", storage=storage).trials[0]
    assert sum(count_params(model)) == trial.user_attrs["total_params"]


@pytest.mark.parametrize("arch, words", [
    ([residual(conv(8), shortcut="identity")], "an identity shortcut cannot join 1 channels"),
    ([residual({"type": "maxpool"})], "layer 0 (residual) body layer 0: unknown layer spec"),
    ([residual(conv(8, kernel=4))], "an odd kernel"),
    ([{"type": "residual", "body": []}], "body is a non-empty list"),
    ([separable(8, stride=5)], "stride=5 is not a whole number from 1 to 4"),
    ([{"type": "residual", "body": [conv(8)], "shortcut": "__import__('os')"}], "unknown shortcut"),
])
def test_a_bad_block_is_one_clear_error(arch, words):
    with pytest.raises(NasError) as error:
        build(normalized(arch))
    assert words in str(error.value)


def test_the_guide_example_is_a_space_whose_candidates_pass(tmp_path):
    guide = (ROOT / "docs" / "search-spaces.md").read_text()
    example = guide.split("```python\n")[1].split("```")[0]
    assert len(example.splitlines()) <= 21  # the guide promises a short, complete file
    (tmp_path / "my_space.py").write_text(example)
    sample = sample_space(str(tmp_path / "my_space.py"), count=10, seed=0)
    assert sample.reasons == [None] * 10, sample.reasons
    assert any(spec["type"] == "residual" for spec in sample.archs[0])


def test_the_shipped_spaces_are_found_from_a_folder_whose_own_search_spaces_has_no_init(tmp_path):
    """Python run in a folder puts the folder first on sys.path, and its search_spaces/ without an
    __init__.py shadows the installed package as a namespace package with no file."""
    import subprocess
    import sys

    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "mine.py").write_text((ROOT / "search_spaces" / "tiny.py").read_text())
    code = ("from nas.search import sample_space\n"
            "for name in ('default', 'wide', 'mine'):\n"
            "    print(name, len(sample_space(name, count=2).archs))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["default", "2", "wide", "2", "mine", "2"]
