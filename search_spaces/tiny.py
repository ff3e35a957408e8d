"""The default family under a small budget: at most 5,000 total params, 4–16 channels per layer."""

from dataclasses import replace

from search_spaces.default import MIN_RECEPTIVE_FIELD, family  # noqa: F401  (the same receptive-field floor)

DESCRIPTION = "the default family under 5,000 params (4–16 ch per layer)"
BUDGET = 5_000


def suggest(trial, rules) -> dict:
    return family(trial, replace(rules, max_params=min(rules.max_params, BUDGET)), widths=(4, 16))
