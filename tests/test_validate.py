"""`nas validate`: the rules, checked on real model files through the real CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from torch import nn

from helpers import MODELS, ROOT, run_json, run_nas
from nas.errors import NasError
from nas.modelfile import load_model
from nas.rules import Rules
from nas.validator import check

def rules_named(report: dict) -> set[str]:
    return {v["rule"] for v in report["violations"]}

@pytest.mark.parametrize("file", ["seed_net.py", "build_model_file.py", "model_instance.py"])
def test_valid_models_pass(file):
    code, report = run_json("validate", MODELS / file)
    assert code == 0
    assert report["ok"] is True
    assert report["violations"] == []
    assert report["total_params"] < 15_000

@pytest.mark.parametrize("file, rule, where", [
    ("linear_head.py", "no-fc", "fc"),
    ("lazy_linear.py", "no-fc", "2"),
    ("unused_linear.py", "no-fc", "spare"),
    ("f_linear.py", "no-fc", "FunctionalLinear.forward"),
    ("matmul.py", "no-fc", "MatmulHead.forward"),
    ("einsum.py", "no-fc", "EinsumHead.forward"),
    ("dense_conv.py", "no-fc", "1"),
    ("conv_bias.py", "no-bias", "2"),
    ("depthwise_bias.py", "no-bias", "1"),
    ("bias_param.py", "no-bias", "BiasParam.forward"),
    ("wrong_output.py", "output-shape", "output"),
])
def test_rule_breakers_fail_with_the_rule_named(file, rule, where):
    code, report = run_json("validate", MODELS / file)
    assert code == 1
    assert report["ok"] is False
    assert (rule, where) in {(v["rule"], v["where"]) for v in report["violations"]}
    assert all(v["message"] for v in report["violations"])

@pytest.mark.parametrize("name, ok, total", [("at_15000", False, 15_000), ("at_14999", True, 14_999)])
def test_parameter_limit_is_strict(name, ok, total):
    code, report = run_json("validate", MODELS / "params_boundary.py", "--name", name)
    assert report["total_params"] == total
    assert code == (0 if ok else 1)
    assert rules_named(report) == (set() if ok else {"max-params"})

def test_running_statistics_count_towards_the_limit():
    code, report = run_json("validate", MODELS / "params_boundary.py", "--name", "stats_over")
    assert report["trainable_params"] < 15_000 <= report["total_params"]
    assert code == 1
    assert rules_named(report) == {"max-params"}

def test_max_params_option_changes_the_limit():
    code, report = run_json("validate", MODELS / "seed_net.py", "--max-params", "8000")
    assert code == 1
    assert rules_named(report) == {"max-params"}
    assert report["max_params"] == 8000

def test_strict_forbids_batchnorm_shift():
    code, report = run_json("validate", MODELS / "seed_net.py", "--strict")
    assert code == 1
    assert rules_named(report) == {"no-bias"}
    assert all("BatchNorm2d" in v["message"] for v in report["violations"])

def test_counts_match_an_independent_count():
    code, report = run_json("validate", MODELS / "seed_net.py")
    model = load_model(MODELS / "seed_net.py")
    weights = sum(p.numel() for p in model.parameters())
    stats = sum(m.running_mean.numel() + m.running_var.numel()
                for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert report["trainable_params"] == weights
    assert report["non_trainable_params"] == stats
    assert report["total_params"] == weights + stats
    assert sum(layer["params"] for layer in report["layers"]) == weights + stats

def test_layer_table_follows_the_forward_pass():
    _, report = run_json("validate", MODELS / "seed_net.py")
    convs = [layer for layer in report["layers"] if layer["type"] == "Conv2d"]
    assert convs[0]["output_shape"] == [10, 28, 28] and convs[0]["receptive_field"] == 3
    assert report["layers"][-1]["output_shape"] == [10]
    assert report["layers"][-1]["receptive_field"] == "global"
    assert report["receptive_field"] > 20  # the last 3×3 convs see most of the digit
    # multiply-accumulates of the first conv: 28·28 positions × 10 filters × 9 weights
    assert convs[0]["macs"] == 28 * 28 * 10 * 9
    assert report["macs"] == sum(layer["macs"] for layer in report["layers"])

def test_a_layer_name_no_terminal_can_print_is_shown_escaped(tmp_path):
    """A lone surrogate in a layer name: the table shows it escaped (a real stdout, not the test
    runner's), where printing it raised UnicodeEncodeError with a traceback."""
    path = tmp_path / "odd_name.py"
    path.write_text(
        "from torch import nn\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.add_module('body\\ud800', nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.ReLU(),\n"
        "                        nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 10, 1, bias=False), nn.Flatten()))\n\n"
        "    def forward(self, x):\n"
        "        return getattr(self, 'body\\ud800')(x)\n")
    proc = subprocess.run([sys.executable, "-m", "nas", "validate", str(path)], capture_output=True, cwd=ROOT,
                          timeout=120)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "body\\ud800.0" in out and "PASS" in out and "Traceback" not in err


def test_rich_output_shows_table_counts_and_verdict():
    result = run_nas("validate", MODELS / "linear_head.py")
    assert result.exit_code == 1
    for text in ("Conv2d", "Total params", "MACs per image", "FAIL", "no-fc"):
        assert text in result.stdout
    result = run_nas("validate", MODELS / "seed_net.py")
    assert result.exit_code == 0 and "PASS" in result.stdout and "14,770" in result.stdout

@pytest.mark.parametrize("args, words", [
    (["syntax_error.py"], "syntax error"),
    (["import_error.py"], "ModuleNotFoundError"),
    (["no_model.py"], "no model found"),
    (["two_models.py"], "Small, Other"),
    (["forward_raises.py"], "forward or backward pass"),
    (["constructor_raises.py"], "no arguments"),
    (["does_not_exist.py"], "no such file"),
    (["seed_net.py", "--name", "nothing_here"], "no attribute"),
])
def test_unjudgeable_input_exits_2_with_one_line(args, words):
    result = run_nas("validate", MODELS / args[0], *args[1:])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    assert "Traceback" not in result.output

def test_markup_in_names_is_shown_as_text():
    """Class and layer names come from the user's file: "[/]" in them is not rich markup."""
    result = run_nas("validate", MODELS / "legal_markup_names.py")
    assert result.exit_code == 0, result.output
    for text in ("Net[/oops]", "[/].0", "[bold]head.1", "PASS"):
        assert text in result.stdout


@pytest.mark.parametrize("value", ["0", "nan", "inf", "1e300"])
def test_a_timeout_out_of_range_exits_2_with_one_line(value):
    result = run_nas("validate", MODELS / "seed_net.py", "--timeout", value)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--timeout {value}" in lines[0].replace("1e+300", "1e300")


def test_a_file_that_exits_at_import_is_a_fault_in_this_process_too(tmp_path):
    """The judge's child process reports an exit; a file that exits only when imported by nas
    itself (training, say) must not end nas with its status."""
    path = tmp_path / "exits.py"
    path.write_text("import sys\nsys.exit(0)\n")
    with pytest.raises(NasError, match=r"called sys.exit\(0\) while being imported"):
        load_model(path)


def test_directory_and_binary_file_exit_2(tmp_path):
    assert run_nas("validate", tmp_path).exit_code == 2
    binary = tmp_path / "weights.py"
    binary.write_bytes(b"\x80\x04\x95\xff\x00")
    result = run_nas("validate", binary)
    assert result.exit_code == 2 and "not a readable Python source file" in result.stderr

def test_two_candidates_resolved_by_name():
    code, report = run_json("validate", MODELS / "two_models.py", "--name", "Other")
    assert code == 0 and report["ok"]

def test_debug_shows_the_traceback():
    result = run_nas("--debug", "validate", MODELS / "forward_raises.py")
    assert result.exit_code != 0
    assert "Traceback" in result.stderr and "shape mismatch in block 2" in result.stderr

def test_check_is_a_library_function():
    report = check(load_model(MODELS / "seed_net.py"), Rules(max_params=20_000))
    assert report.ok and report.max_params == 20_000
    assert report.to_dict()["ok"] is True

def test_help_describes_every_option():
    top = run_nas("--help")
    assert top.exit_code == 0 and "validate" in top.stdout and "--debug" in top.stdout
    result = run_nas("validate", "--help")
    assert result.exit_code == 0
    for option in ("--name", "--max-params", "--strict", "--json", "MODEL_FILE"):
        assert option.lower() in result.stdout.lower()

def test_epoch_limit_lives_in_the_rules():
    Rules().check_epochs(20)
    with pytest.raises(NasError, match="exceeds the rules' limit of 20"):
        Rules().check_epochs(21)


def test_helper_blocks_with_arguments_are_not_candidates_and_gates_keep_the_local_view():
    code, report = run_json("validate", MODELS / "se_blocks.py")
    assert code == 0 and report["ok"]
    convs = [layer["receptive_field"] for layer in report["layers"] if layer["type"] == "Conv2d"]
    assert convs == [3, "global", "global", 8, 12, 16, 20, "global"]
    assert report["receptive_field"] == 20
