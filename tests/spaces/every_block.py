"""One candidate with every kind of block: residual (identity and 1×1 shortcuts), separable, SE, stride 2, 5×5 and dilated kernels."""

from nas.arch import act, bn, conv, gap, head, pool, residual, se, separable

ARCH = [conv(8, kernel=5), bn(), act(),
        residual(conv(8, dilation=2), bn(), act(), conv(8), bn()), act(), pool(),
        residual(separable(12), bn(), act(), separable(12, stride=2), bn()), act("silu"),  # 1×1 shortcut
        se(4), conv(12, kernel=5), bn(), act("gelu"), gap(), head()]


def suggest(trial, rules):
    return {"arch": ARCH, "recipe": {"lr": trial.suggest_float("lr", 0.05, 0.2, log=True)}}
