"""The errors users see as a message or a verdict rather than a traceback."""


class NasError(Exception):
    """Input that cannot be used. The CLI prints the message on one line and exits 2.

    The message says what is wrong and what to do about it.
    """


class RulesBroken(Exception):
    """A model that breaks the rules was about to be trained, or broke them once trained
    (`after_training`). The CLI prints the verdict and exits 1."""

    def __init__(self, report, after_training: bool = False):
        self.report = report  # a nas.rules.Report
        self.after_training = after_training
        rules = ", ".join(sorted({v.rule for v in report.violations}))
        super().__init__(f"the model breaks the rules ({rules}) " + (
            "once trained; it kept them before" if after_training else "; it was not trained"))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: what a one-line error shows of it."""
    return (str(exc).strip().splitlines() or [""])[0]


def describe(exc: BaseException) -> str:
    """An exception as `Type: first line`, or `Type` alone when it has no message."""
    line = first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__
