"""A hand-picked net of the v2 family under 5,000 total params: a residual block at 14×14 and
depthwise-separable convs at 7×7 (benchmarks/results/small-net-cpu.md: what it reached).

    nas train benchmarks/models/small_residual.py --epochs 20 --device cpu
"""

from nas.arch import act, bn, build, conv, gap, head, pool, residual, separable

ARCH = [conv(8), bn(), act(), conv(12), bn(), act(), pool(),                   # 28×28, then 14×14
        residual(conv(12), bn(), act(), conv(12), bn()), act(), pool(),        # 14×14, then 7×7
        separable(20), bn(), act(), separable(20), bn(), act(), gap(), head()]  # 7×7, then the classes


def build_model():
    return build(ARCH)
