"""Optuna storage: open or resume a study, read one, and say clearly when that fails."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import warnings
from contextlib import closing, contextmanager
from pathlib import Path

import optuna

from nas.config import HEARTBEAT_SECONDS
from nas.errors import NasError

optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own views report progress
# Heartbeats and their retry callback are marked experimental, and Optuna expects them with
# Study.optimize(); our ask-and-tell loop records the heartbeats itself (see `beating`).
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def mask(text: str) -> str:
    """Text (a URL, or a message that holds one) with every password in it replaced by ***.

    Everything from `user:` to the line's last @ goes, since a password may hold a raw @
    (postgresql://u:p@ss@host/db); so does the value of a ?password= or &password= parameter.
    Every URL the user gave passes through here before it is shown.
    """
    text = re.sub(r"(://[^:/@\s]*:).*@", r"\1***@", text)
    return re.sub(r"([?&]password=)[^&\s]*", r"\1***", text, flags=re.IGNORECASE)


STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def check_study_name(name: str) -> str:
    """The name, if it is safe to use as a folder name under results/ (weights and plots go there)."""
    if not STUDY_NAME.fullmatch(name) or ".." in name:
        raise NasError(f"study name {name!r} is not allowed; use 1 to 100 letters, digits, '_', '.' or '-', "
                       "starting with a letter or digit, and no '..'")
    return name


def _sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


OPTUNA_TABLES = {"studies", "trials", "version_info"}


def _check_sqlite_file(path: Path) -> None:
    """An existing file must be empty or an Optuna storage: Optuna would add its tables to any other database."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NasError(f"{path} is not a SQLite database ({exc}); pass another --storage") from None
    if tables and not OPTUNA_TABLES <= tables:
        raise NasError(f"{path} is a SQLite database of something else (tables: {', '.join(sorted(tables)[:5])}), "
                       "not an Optuna storage; pass another --storage")


MAX_RETRIES = 3  # a trial whose worker died is run again at most this many times
SCHEMA_ATTEMPTS = 5  # tries to open a storage whose tables another process is creating at that moment


def _storage(url: str, create: bool, heartbeat: int | None = None) -> optuna.storages.BaseStorage:
    host_part = url.partition("://")[2].split("/", 1)[0]
    if host_part.count("@") > 1:  # SQLAlchemy would take what follows the first @ for the host
        raise NasError(f"the storage URL {mask(url)} has more than one @ before its host; write an @ in the "
                       "password as %40")
    path = _sqlite_path(url)
    if path is not None:
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise NasError(f"cannot create the folder of storage file {path} ({exc.strerror}); pass a "
                               "--storage path in a writable folder") from None
        elif not path.exists():
            raise NasError(f"no storage file at {path}; run `nas search` first or pass --storage")
        if path.is_file():
            _check_sqlite_file(path)
    # SQLite: wait for a lock instead of failing at once when several processes write
    kwargs = {"connect_args": {"timeout": 60}} if path is not None else None
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES) if heartbeat else None
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat,
                                              heartbeat_stale_trial_callback=retry)
        except Exception as exc:
            # another process creating the same tables at that moment ("UNIQUE constraint failed",
            # "table ... already exists", a locked file): they exist soon, so a later try opens them.
            # Anything else (a refused connection, a wrong password) fails at once: no retry mends it
            if attempt < SCHEMA_ATTEMPTS - 1 and (path is None or path.exists()) and _racing(exc):
                time.sleep(0.2 * (attempt + 1))
                continue
            detail = mask(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
            raise NasError(f"cannot open storage {mask(url)}: {detail}; check the --storage URL") from None


def _racing(exc: Exception) -> bool:
    """Whether opening a storage failed because another process was creating its tables."""
    text = str(exc).lower()
    return any(sign in text for sign in ("unique", "already exists", "locked"))


def open_study(url: str, name: str, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner,
               directions: list[str] | None = None, heartbeat: int | None = HEARTBEAT_SECONDS) -> optuna.Study:
    """Create the study, or resume it if it exists (new trials are added to it).

    With `heartbeat` seconds, running trials must beat (see `beating`); a trial whose worker
    died is marked failed by the next worker and queued again with the same parameters.
    """
    directions = directions or ["maximize"]
    check_study_name(name)
    study = optuna.create_study(storage=_storage(url, create=True, heartbeat=heartbeat), study_name=name,
                                sampler=sampler,
                                pruner=pruner, directions=directions, load_if_exists=True)
    if [d.name.lower() for d in study.directions] != directions:
        raise NasError(f"study {name!r} already exists with {len(study.directions)} objective(s); pick another "
                       "--study for a different --objective")
    return study


def load_study(url: str, name: str) -> optuna.Study:
    """An existing study, for reading."""
    check_study_name(name)
    storage = _storage(url, create=False)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = f"; studies there: {', '.join(names)}" if names else "; it holds no study yet"
        raise NasError(f"no study {name!r} in {mask(url)}{known}; pass --study") from None


@contextmanager
def beating(study: optuna.Study, trial: optuna.Trial):
    """Record the trial's heartbeat from a background thread while the block runs.

    Optuna's optimize() does this itself; an ask-and-tell loop must. A killed worker stops
    beating, and `optuna.storages.fail_stale_trials` in any other worker then fails and retries it.
    """
    storage = study._storage  # Optuna wraps an RDBStorage in a cache: ask the wrapper, not the type
    interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial._trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
