"""Every other candidate is far over the parameter budget: the search must reject it untrained."""

SMALL = [{"type": "conv", "out": 8}, {"type": "bn"}, {"type": "act"}, {"type": "maxpool"},
         {"type": "conv", "out": 16}, {"type": "bn"}, {"type": "act"}, {"type": "maxpool"},
         {"type": "conv", "out": 16}, {"type": "bn"}, {"type": "act"}, {"type": "gap"}, {"type": "head", "out": 10}]
WIDE = [{"type": "conv", "out": 64}, {"type": "bn"}, {"type": "act"}, {"type": "maxpool"},
        {"type": "conv", "out": 64}, {"type": "bn"}, {"type": "act"}, {"type": "gap"}, {"type": "head", "out": 10}]


def suggest(trial, rules):
    wide = trial.number % 2 == 1
    lr = trial.suggest_float("lr", 0.05, 0.2, log=True)
    return {"arch": WIDE if wide else SMALL, "recipe": {"lr": lr, "batch_size": 128}}
