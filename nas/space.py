"""Search spaces: Python files that turn an Optuna trial into a candidate.

A space file defines `suggest(trial, rules) -> {"arch": [...], "recipe": {...}}` in Optuna's
define-by-run style, and may set DESCRIPTION (one line for `nas spaces`) and
MIN_RECEPTIVE_FIELD (pixels: candidates that see less of the digit are rejected). `arch` is a
description for nas.arch.build, written with the helpers there (docs/search-spaces.md); `recipe`
holds nas.train.Recipe fields to tune. Spaces share code by ordinary imports:
`from search_spaces.default import family`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nas.errors import NasError
from nas.modelfile import import_file

# ./search_spaces first (a user's own), then the spaces shipped with nas, found wherever nas is
# installed and run from: the package search_spaces is installed beside nas. Found by path, not by
# `import search_spaces`, which a local search_spaces/ without __init__.py shadows (as a namespace
# package with no file) when the current folder is on sys.path, as under `python -c`.
SPACE_DIRS = (Path("search_spaces"), Path(__file__).resolve().parent.parent / "search_spaces")


@dataclass
class Space:
    name: str
    path: Path
    description: str
    suggest: Callable
    min_receptive_field: int = 0


def load_space(name_or_path: str) -> Space:
    """A space by name (a file stem in search_spaces/) or by the path of a .py file."""
    path = Path(name_or_path)
    if path.suffix != ".py":
        found = [d / f"{name_or_path}.py" for d in SPACE_DIRS if (d / f"{name_or_path}.py").is_file()]
        if not found:
            known = ", ".join(s.name for s in list_spaces())
            raise NasError(f"no search space named {name_or_path!r}; known: {known}, or pass a path to a .py file")
        path = found[0]
    module = import_file(path, kind="a search space")
    suggest = getattr(module, "suggest", None)
    if not callable(suggest):
        raise NasError(f"{path} defines no suggest(trial, rules) function; a search space needs one")
    doc = (module.__doc__ or "").strip().splitlines()
    return Space(name=path.stem, path=path, description=getattr(module, "DESCRIPTION", doc[0] if doc else ""),
                 suggest=suggest, min_receptive_field=getattr(module, "MIN_RECEPTIVE_FIELD", 0))


def list_spaces() -> list[Space]:
    """Every space in the search_spaces folders, by name."""
    spaces: dict[str, Space] = {}
    for folder in SPACE_DIRS:
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            if not path.stem.startswith("_") and path.stem not in spaces:
                spaces[path.stem] = load_space(str(path))
    return list(spaces.values())
