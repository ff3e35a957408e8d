"""The building blocks hand-tuners use, under the rules' budget.

Three blocks, at 28×28, 14×14 and 7×7, each of 1–3 units of one kind: a conv (3×3, 5×5 or dilated), a residual block of 1–3
convs, or a depthwise-separable conv; an optional squeeze-and-excitation gate. Blocks are joined
by a max-pool plus a 1×1 transition, or by a stride-2 conv. BatchNorm; ReLU, SiLU or GELU;
dropout 0–0.1; a GAP then 1×1 head, or a 1×1 conv to 10 channels then GAP. Widths are scaled
down to fit the parameter budget, so few candidates are rejected. The training recipe is
searched too, batch size aside.
"""

from nas.arch import act, bn, conv, dropout, fit_to_budget, gap, head, pool, residual, se, separable

DESCRIPTION = ("3 blocks of convs, residual or separable units (3×3, 5×5, dilated), SE gates, pool or "
               "stride-2 joins, GAP + 1×1 head; tunes the recipe")
MIN_RECEPTIVE_FIELD = 20  # pixels: a head that sees less than most of a 28×28 digit is rejected
# Kernels per block as (size, dilation): each must stay smaller than the block's map (28, 14, 7),
# or the validator calls it a fully connected layer in disguise
KERNELS = {"3": (3, 1), "5": (5, 1), "3d2": (3, 2), "5d2": (5, 2)}
BLOCK_KERNELS = (["3", "5", "3d2", "5d2"], ["3", "5", "3d2", "5d2"], ["3", "5", "3d2"])


def family(trial, rules, widths: tuple[int, int] = (8, 32)) -> dict:
    """Sample one candidate of the family, widths in `widths`, fitted under rules.max_params."""
    fn = trial.suggest_categorical("activation", ["relu", "silu", "gelu"])
    p = trial.suggest_float("dropout", 0.0, 0.1)
    arch = []
    for block in range(3):  # two of them saw too little of the digit when their units were few
        if block > 0 and trial.suggest_categorical(f"b{block}_join", ["pool", "stride"]) == "pool":
            arch += [pool(), conv(trial.suggest_int(f"t{block}", *widths), kernel=1), bn(), act(fn)]
        elif block > 0:  # a stride-2 conv halves the map and learns how
            arch += [conv(trial.suggest_int(f"t{block}", *widths), stride=2), bn(), act(fn)]
        kernel, dilation = KERNELS[trial.suggest_categorical(f"b{block}_kernel", BLOCK_KERNELS[block])]
        # a separable conv of the 1-channel image is one 3×3 filter: no use in the first block
        unit = trial.suggest_categorical(f"b{block}_unit", ["conv", "residual"] + (["separable"] if block else []))
        for i in range(trial.suggest_int(f"b{block}_units", 1, 3)):
            width = trial.suggest_int(f"b{block}_c{i}", *widths)
            if unit == "conv":
                arch += [conv(width, kernel, dilation=dilation), bn(), act(fn)]
            elif unit == "separable":
                arch += [separable(width, kernel, dilation=dilation), bn(), act(fn)]
            else:  # convs, the last without its activation: it comes after the sum
                convs = trial.suggest_int(f"b{block}_r{i}_convs", 1, 3)
                body = [[conv(width, kernel, dilation=dilation), bn(), act(fn)] for _ in range(convs)]
                arch += [residual(*body[:-1], body[-1][:2]), act(fn)]
        if trial.suggest_categorical(f"b{block}_se", [False, True]):
            arch.append(se(4))
        if p > 0.01:
            arch.append(dropout(round(p, 3)))
    if trial.suggest_categorical("head", ["gap_then_1x1", "1x1_then_gap"]) == "gap_then_1x1":
        arch += [gap(), head(rules.num_classes)]
    else:
        arch += [head(rules.num_classes), gap()]
    # batch size stays the recipe's 128: at a cheap rung a batch of 512 is a few dozen steps, so it
    # ranked a candidate's batch size there, not its architecture (11-45% val at 2 epochs × 8,000
    # images, where the same candidates at 128 reached 66-95%)
    recipe = {
        "lr": trial.suggest_float("lr", 0.05, 0.5, log=True),  # peak of the one-cycle schedule (SGD)
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-3, log=True),
        "augment": trial.suggest_float("augment", 0.0, 1.5),
        "label_smoothing": trial.suggest_float("label_smoothing", 0.0, 0.15),
    }
    return {"arch": fit_to_budget(arch, rules), "recipe": recipe}


def suggest(trial, rules) -> dict:
    return family(trial, rules)
