"""A file with helpers but no model."""

WIDTH = 16


def widths() -> list[int]:
    return [WIDTH, 2 * WIDTH]
