"""Optuna storage: open or resume a study, read one, and say clearly when that fails."""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from nas.errors import NasError

optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own views report progress


def mask(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def _storage(url: str, create: bool) -> optuna.storages.BaseStorage:
    path = _sqlite_path(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise NasError(f"no storage file at {path}; run `nas search` first or pass --storage")
    try:
        # SQLite: wait for a lock instead of failing at once when several processes write
        kwargs = {"connect_args": {"timeout": 60}} if path is not None else None
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as exc:
        detail = mask(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
        raise NasError(f"cannot open storage {mask(url)}: {detail}; check the --storage URL") from None


def open_study(url: str, name: str, sampler: optuna.samplers.BaseSampler,
               pruner: optuna.pruners.BasePruner, directions: list[str] | None = None) -> optuna.Study:
    """Create the study, or resume it if it exists (new trials are added to it)."""
    directions = directions or ["maximize"]
    study = optuna.create_study(storage=_storage(url, create=True), study_name=name, sampler=sampler,
                                pruner=pruner, directions=directions, load_if_exists=True)
    if [d.name.lower() for d in study.directions] != directions:
        raise NasError(f"study {name!r} already exists with {len(study.directions)} objective(s); pick another "
                       "--study for a different --objective")
    return study


def load_study(url: str, name: str) -> optuna.Study:
    """An existing study, for reading."""
    storage = _storage(url, create=False)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = f"; studies there: {', '.join(names)}" if names else "; it holds no study yet"
        raise NasError(f"no study {name!r} in {mask(url)}{known}; pass --study") from None
