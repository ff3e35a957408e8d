"""`--help` as a new user reads it: what each option takes, and what the leaderboard's words mean."""

from __future__ import annotations

import re

import pytest

from helpers import run_nas

COMMANDS = ["validate", "train", "search", "leaderboard", "evaluate", "export", "report", "spaces", "data"]


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_take_no_value_in_help(command):
    result = run_nas(command, "--help")
    assert result.exit_code == 0
    shown = [line for line in result.stdout.splitlines() if "<bool>" in line]
    assert [line for line in shown if not re.search(r"--help\s+<bool>", line)] == []


def test_export_help_names_the_onnx_extra():
    assert "nas[onnx]" in run_nas("export", "--help").stdout


def test_leaderboard_help_explains_the_architecture_notation():
    text = " ".join(run_nas("leaderboard", "--help").stdout.split())
    for words in ("c16: a 3×3 conv", "d2: dilation 2", "t10", "M: 2×2 max-pool", "G: global average pool", "h10"):
        assert words in text
