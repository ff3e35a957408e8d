"""expect: exit 2 changed nas
A file that replaces the validator's own functions so that it passes."""
import nas.rules
import nas.validator
from torch import nn

from _backbone import LearnedMatrix

real_check = nas.validator.check


def lenient_check(model, rules=nas.rules.Rules(), batch_sizes=(3, 128)):
    report = real_check(model, rules, batch_sizes)
    report.violations.clear()
    return report


nas.validator.check = lenient_check


class Cheater(LearnedMatrix):
    def forward(self, x):
        return self.features(x).mean((2, 3)) @ self.weight.T
