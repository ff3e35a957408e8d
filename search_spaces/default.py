"""The family the challenge's best hand designs come from, under the rules' budget.

2–3 blocks of 1–4 3×3 convs (8–32 channels each), joined by max-pool plus a 1×1 transition;
optional dilation; BatchNorm; ReLU, SiLU or GELU; dropout 0–0.1; a GAP then 1×1 head, or a 1×1
conv to 10 channels then GAP. Widths are scaled down to fit the parameter budget, so few
candidates are rejected. The training recipe is searched too.
"""

from nas.arch import fit_to_budget

DESCRIPTION = "2–3 blocks of 1–4 3×3 convs (8–32 ch), max-pool + 1×1 transitions, GAP + 1×1 head; tunes the recipe"
MIN_RECEPTIVE_FIELD = 20  # pixels: a head that sees less than most of a 28×28 digit is rejected


def conv(out: int, kernel: int = 3, dilation: int = 1) -> dict:
    return {"type": "conv", "out": out, "kernel": kernel, "dilation": dilation}


def family(trial, rules, widths: tuple[int, int] = (8, 32)) -> dict:
    """Sample one candidate of the family, widths in `widths`, fitted under rules.max_params."""
    act = {"type": "act", "fn": trial.suggest_categorical("activation", ["relu", "silu", "gelu"])}
    dropout = trial.suggest_float("dropout", 0.0, 0.1)
    arch = []
    for block in range(trial.suggest_int("blocks", 2, 3)):
        if block > 0:  # transition: halve the map, then mix channels with a 1×1 conv
            arch += [{"type": "maxpool", "kernel": 2}, conv(trial.suggest_int(f"t{block}", *widths), kernel=1),
                     {"type": "bn"}, act]
        dilation = trial.suggest_categorical(f"b{block}_dilation", [1, 2])
        for i in range(trial.suggest_int(f"b{block}_convs", 1, 4)):
            arch += [conv(trial.suggest_int(f"b{block}_c{i}", *widths), dilation=dilation), {"type": "bn"}, act]
        if dropout > 0.01:
            arch.append({"type": "dropout", "p": round(dropout, 3)})
    if trial.suggest_categorical("head", ["gap_then_1x1", "1x1_then_gap"]) == "gap_then_1x1":
        arch += [{"type": "gap"}, {"type": "head", "out": rules.num_classes}]
    else:
        arch += [{"type": "head", "out": rules.num_classes}, {"type": "gap"}]
    recipe = {
        "lr": trial.suggest_float("lr", 0.05, 0.5, log=True),  # peak of the one-cycle schedule (SGD)
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-3, log=True),
        "augment": trial.suggest_float("augment", 0.0, 1.5),
        "label_smoothing": trial.suggest_float("label_smoothing", 0.0, 0.15),
    }
    return {"arch": fit_to_budget(arch, rules), "recipe": recipe}


def suggest(trial, rules) -> dict:
    return family(trial, rules)
