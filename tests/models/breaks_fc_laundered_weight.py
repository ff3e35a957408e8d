"""expect: exit 1 no-fc
The weight laundered through an op with an activation, so it looks like one."""
from _backbone import LearnedMatrix


class LaunderedHead(LearnedMatrix):
    def forward(self, x):
        h = self.features(x).mean((2, 3))
        weight = self.weight * (1 + 0 * h.mean())
        return h @ weight.T
