"""A space whose every candidate breaks the parameter budget."""

WIDE = [{"type": "conv", "out": 64}, {"type": "bn"}, {"type": "act"}, {"type": "maxpool"},
        {"type": "conv", "out": 64}, {"type": "bn"}, {"type": "act"}, {"type": "gap"}, {"type": "head", "out": 10}]


def suggest(trial, rules):
    return {"arch": WIDE, "recipe": {"lr": trial.suggest_float("lr", 0.05, 0.2)}}
