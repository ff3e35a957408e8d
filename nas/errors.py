"""The one error type users see as a message rather than a traceback."""


class NasError(Exception):
    """Input that cannot be used. The CLI prints the message on one line and exits 2.

    The message says what is wrong and what to do about it.
    """
