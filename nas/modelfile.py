"""Load a model from a user's Python file.

Lookup without --name: a `build_model()` function, else a module-level `model` instance,
else the single nn.Module subclass defined in the file that can be built with no arguments.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from nas.errors import NasError, RulesBroken, first_line

if TYPE_CHECKING:
    from torch import nn

MAX_SOURCE_BYTES = 10 * 2**20  # no model file is this big; /dev/zero and friends are refused early


def check_source_path(path: str | Path, kind: str = "a model") -> Path:
    """`path`, if it names a regular .py file of reasonable size; else a NasError saying what it is.

    `kind` is what the file should define, for the messages: "a model", "a search space".
    """
    path = Path(path)
    if not path.exists():
        raise NasError(f"{path}: no such file; pass the path of a Python file that defines {kind}")
    if path.is_dir():
        raise NasError(f"{path} is a directory; pass the path of a Python file that defines {kind}")
    if not path.is_file():
        raise NasError(f"{path} is not a regular file (a pipe or a device?); pass a .py file")
    if path.suffix != ".py":
        raise NasError(f"{path} is not a .py file; pass the Python source file that defines {kind}")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise NasError(f"{path} is {path.stat().st_size:,} bytes, too big for a Python file; pass a .py file")
    return path


def import_file(path: str | Path, kind: str = "a model") -> ModuleType:
    """Import a Python file as a fresh module; its folder is importable while it loads.

    `kind` is what the file should define, for the messages: "a model", "a search space".
    """
    path = check_source_path(path, kind)
    try:
        source = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise NasError(f"{path} is not a readable Python source file ({exc.__class__.__name__}); "
                       "pass a .py file") from exc
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise NasError(f"{path}:{exc.lineno}: syntax error: {exc.msg}; fix the file") from exc
    name = f"nas_user_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up here
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:  # a fault to report, not nas's own exit
        del sys.modules[name]
        raise exited(path, exc, "being imported", kind) from exc
    except Exception as exc:
        del sys.modules[name]
        raise NasError(f"importing {path} raised {type(exc).__name__}: {first_line(exc)}; "
                       "fix the file or install what it imports") from exc
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def exited(path: str | Path, exc: SystemExit, doing: str, kind: str = "a model") -> NasError:
    """The one line for a file (of `kind`) that called sys.exit while nas was `doing` something with it."""
    return NasError(f"{path} called sys.exit({exc.code!r}) while {doing}; {kind} file must not exit")


@contextmanager
def model_faults(path: str | Path, doing: str):
    """Whatever a model file's code raises or exits with while nas is `doing` something with its
    model (training it, say), as one NasError: the file was checked before, but a model may fail
    only later (at its 30th call, say)."""
    try:
        yield
    except (NasError, RulesBroken, KeyboardInterrupt):
        raise
    except SystemExit as exc:
        raise exited(path, exc, doing) from exc
    except Exception as exc:
        raise NasError(f"{doing} the model of {path} stopped: it raised {type(exc).__name__}: {first_line(exc)}; "
                       "fix the model") from exc


def _materialize(obj, label: str, path: Path) -> nn.Module:
    """Turn a module instance, module class or zero-argument factory into a module."""
    from torch import nn

    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise NasError(f"{label} in {path} is a {type(obj).__name__}, not a model; pick an "
                       "nn.Module, an nn.Module subclass or a function that returns one")
    try:
        built = obj()
    except SystemExit as exc:
        raise exited(path, exc, f"building {label}()") from exc
    except Exception as exc:
        raise NasError(f"{label}() in {path} raised {type(exc).__name__}: {first_line(exc)}; "
                       "it must build the model with no arguments") from exc
    if not isinstance(built, nn.Module):
        raise NasError(f"{label}() in {path} returned a {type(built).__name__}, not an nn.Module")
    return built


def find_candidates(module: ModuleType) -> list[str]:
    """Names that could be the model, in lookup order of precedence."""
    from torch import nn

    if callable(getattr(module, "build_model", None)):
        return ["build_model"]
    if isinstance(getattr(module, "model", None), nn.Module):
        return ["model"]
    classes = [name for name, obj in vars(module).items()
               if inspect.isclass(obj) and issubclass(obj, nn.Module) and obj.__module__ == module.__name__]
    # helper blocks that need arguments (Block(c_in, c_out)) cannot be the model: leave them out
    buildable = [name for name in classes if _no_arguments(getattr(module, name))]
    return buildable or classes  # none buildable: report the classes, and the build error names why


def _no_arguments(cls: type) -> bool:
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return True
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def load_model(path: str | Path, name: str | None = None) -> nn.Module:
    """Build the model that `path` defines; `name` picks an attribute of the file."""
    path = Path(path)
    module = import_file(path)
    if name is not None:
        if not hasattr(module, name):
            found = find_candidates(module)
            hint = f"; candidates: {', '.join(found)}" if found else ""
            raise NasError(f"{path} has no attribute {name!r}{hint}")
        return _materialize(getattr(module, name), name, path)
    found = find_candidates(module)
    if not found:
        raise NasError(f"no model found in {path}: define build_model(), a module-level `model`, "
                       "or one nn.Module subclass, or pick one with --name")
    if len(found) > 1:
        raise NasError(f"{path} defines several models: {', '.join(found)}; pick one with --name")
    return _materialize(getattr(module, found[0]), found[0], path)
