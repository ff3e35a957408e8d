"""The default family across the whole range of sizes: for Pareto fronts from under 1,000 params
to the rules' limit.

Meant for `nas search --objective pareto`. Each candidate first draws a parameter budget,
log-uniform from 500 to the limit, and its widths (4–32 channels) are scaled to fit under it.
Sampled widths alone would put most candidates near the middle of the range; drawing the budget
spreads them over the front, small nets included.
"""

from dataclasses import replace

from search_spaces.default import MIN_RECEPTIVE_FIELD, family  # noqa: F401  (the same receptive-field floor)

DESCRIPTION = "the default family, 4–32 ch, budgets drawn from 500 params to the limit: for Pareto fronts"
SMALLEST_BUDGET = 500  # below the published 697-param net: the front should reach under 1,000


def suggest(trial, rules) -> dict:
    budget = trial.suggest_int("param_budget", SMALLEST_BUDGET, rules.max_params, log=True)
    return family(trial, replace(rules, max_params=budget), widths=(4, 32))
