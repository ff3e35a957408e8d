"""Export: a trial as a standalone PyTorch file, its trained weights, or ONNX."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import optuna
import torch

from nas.arch import arch_string, build, source, total_params
from nas.config import Recipe
from nas.data import TRAIN_IMAGES
from nas.errors import NasError
from nas.leaderboard import complete_trial


def _rounded(recipe: dict) -> dict:
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in recipe.items()}


# the recipe's fields that `nas train` and `nas evaluate FILE` take as options (the README's table)
TRAIN_OPTIONS = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "label_smoothing", "augment", "dropout",
                 "seed")


@dataclass
class Exported:
    model_file: Path
    train_command: str  # `nas train FILE` with the options that train it as its trial was trained


def train_command(path: str | Path, recipe: dict, images: int | None = None) -> str:
    """`nas train PATH` with the options that give the recipe `recipe` (a trial's, as stored) and
    its `images` first training images: a model file carries no recipe, and nas train's defaults
    are Recipe's and the whole training split."""
    defaults = asdict(Recipe())
    words = [f"--{name.replace('_', '-')} {shlex.quote(str(value))}" for name, value in recipe.items()  # exact
             if name in TRAIN_OPTIONS and value is not None and value != defaults[name]]
    if isinstance(images, int) and 0 < images < TRAIN_IMAGES:
        words.append(f"--subset {images}")
    return " ".join(["nas train", shlex.quote(str(path)), *words])


def export_trial(study: optuna.Study, number: int, out: str | Path, weights: str | Path | None = None,
                 onnx: str | Path | None = None) -> Exported:
    """Write trial `number` as a standalone PyTorch file, and its trained weights or ONNX if asked."""
    trial = complete_trial(study, number)
    attrs = trial.user_attrs
    arch = attrs["arch"]  # stored data: arch_string, total_params and source check it before use
    command = train_command(Path(out).name, attrs["recipe"], attrs.get("images"))
    doc = (f"Trial {number} of study {study.study_name!r}, found by nas: {arch_string(arch)}.\n\n"
           f"{total_params(arch):,} total params, validation accuracy {trial.values[0]:.2%} after "
           f"{attrs.get('epochs')} epoch(s). Recipe: {json.dumps(_rounded(attrs['recipe']))}.\n"
           f"To train it so: {command}")
    try:
        Path(out).write_text(source(arch, class_name=f"Trial{number}Net", doc=doc))
        exported = Exported(Path(out), train_command(out, attrs["recipe"], attrs.get("images")))
        if weights is None and onnx is None:
            return exported
        model = _trained_model(attrs, number)
        if weights is not None:
            torch.save(model.state_dict(), weights)
        if onnx is not None:
            export_onnx(model.eval(), onnx)
    except OSError as exc:
        raise NasError(f"cannot write {exc.filename or out}: {exc.strerror}; pass a path in a writable "
                       "folder") from None
    return exported


def _trained_model(attrs: dict, number: int) -> torch.nn.Module:
    """The trial's model with its stored weights, or a NasError saying why they cannot be had."""
    stored = Path(attrs.get("weights", ""))
    if not stored.is_file():
        raise NasError(f"trial {number}'s weights are not at {stored}; run export where the search ran "
                       "(or from a copy of its results folder)")
    try:
        state = torch.load(stored, weights_only=True)  # weights_only: the file is data, never code
    except Exception as exc:  # torch raises many kinds for a damaged file: pickle, zip, EOF, runtime
        raise NasError(f"trial {number}'s weights file {stored} is damaged ({type(exc).__name__}); rerun the "
                       "trial") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NasError(f"trial {number}'s weights file {stored} holds a {type(state).__name__}, not a "
                       "state_dict; rerun the trial")
    model = build(attrs["arch"])
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise NasError(f"trial {number}'s stored weights do not fit its architecture (saved by an older "
                       "nas?); rerun the trial") from None
    return model


def export_onnx(model: torch.nn.Module, path: str | Path, tolerance: float = 1e-4) -> bool:
    """Write `model` as ONNX. Where onnxruntime is installed, check its outputs match PyTorch's.

    Returns whether the check ran. Raises NasError when the exporter is missing or outputs differ.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxscript  # noqa: F401
    except ImportError:
        raise NasError("--onnx needs the onnx and onnxscript packages: pip install 'nas[onnx]'") from None
    example = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.onnx.export(model, (example,), str(path), input_names=["images"], output_names=["logits"],
                      dynamic_shapes=({0: torch.export.Dim("batch")},),  # any batch size
                      verbose=False)  # no progress lines: the command prints what it wrote
    try:
        import onnxruntime
    except ImportError:
        return False
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    with torch.no_grad():
        want = model(example).numpy()
    worst = float(abs(got - want).max())
    if worst > tolerance:
        raise NasError(f"the ONNX model's outputs differ from PyTorch's by {worst:.2g} (> {tolerance:g})")
    return True
