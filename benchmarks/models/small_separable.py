"""A hand-picked net of the v2 family under 5,000 total params: depthwise-separable convs, the
middle pair in a residual block, buy width (20 channels at 14×14, 28 at 7×7) that full 3×3 convs
could not (benchmarks/results/small-net-cpu.md: what it reached).

    nas train benchmarks/models/small_separable.py --epochs 20 --device cpu
"""

from nas.arch import act, bn, build, conv, gap, head, pool, residual, separable

ARCH = [conv(8), bn(), act(), conv(10), bn(), act(), pool(),                                # 28×28, then 14×14
        separable(20), bn(), act(),
        residual(separable(20), bn(), act(), separable(20), bn()), act(), pool(),          # 14×14, then 7×7
        separable(28), bn(), act(), separable(28), bn(), act(), gap(), head()]             # 7×7, then the classes


def build_model():
    return build(ARCH)
