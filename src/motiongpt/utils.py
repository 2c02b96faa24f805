"""Small shared helpers: atomic file and directory writes, checked safetensors loading, device choice, seeding."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed over `path` (never half-written).

    Usage: `with atomic_path(out) as tmp: np.save(tmp, arr)`. The temporary keeps `path`'s suffix (or
    `suffix`) so that libraries which pick a format by extension behave.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or ".tmp" + path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = _umask()
    try:
        yield tmp_path
        if tmp_path.is_file():  # mkstemp makes 0600 files: give the result the usual permissions
            tmp_path.chmod(0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; on success it is swapped in place of `path`.

    The old `path` (if any) is removed after the swap; on error the temporary is removed and `path` is left as
    it was. Temporaries are named `.tmp-<name>-*`, so a killed writer's leftovers are easy to find.
    Usage: `with atomic_dir(out) as tmp: (tmp / "a.json").write_text("{}")`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".tmp-{path.name}-"))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders: give the result the usual permissions
        _swap_dir(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_dir(src: Path, dst: Path) -> None:
    """Rename `src` to `dst`; an existing `dst` is moved aside first and removed after the swap."""
    if not dst.exists():
        os.replace(src, dst)
        return
    old = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".old-{dst.name}-"))
    os.replace(dst, old)  # onto the empty placeholder
    try:
        os.replace(src, dst)
    except OSError:
        os.replace(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON (indented, UTF-8) atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """np.save atomically (the file ends in .npy)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


class WeightsError(ValueError):
    """A weights file is unreadable (empty, truncated) or does not fit the model (the message names the file)."""


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of a safetensors file (reads its header only; one-line error naming the file)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"{path}: not a readable safetensors file (empty or truncated?): {err}") from None


def check_shapes(expected: Mapping[str, Sequence[int]], found: Mapping[str, Sequence[int]], where: str | os.PathLike,
                 strict: bool = True) -> None:
    """One-line error naming `where` and the first parameter whose shape differs (or, if strict, that is
    missing or unexpected).

    >>> check_shapes({"w": (4, 2)}, {"w": (8, 2)}, "model.safetensors")
    Traceback (most recent call last):
    ...
    motiongpt.utils.WeightsError: model.safetensors: parameter 'w' has shape [8, 2] there but [4, 2] in the model (was the model config changed?)
    """
    for name, shape in expected.items():
        if name in found and tuple(found[name]) != tuple(shape):
            raise WeightsError(f"{where}: parameter {name!r} has shape {list(found[name])} there but "
                               f"{list(shape)} in the model (was the model config changed?)")
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if strict and (missing or unexpected):
        raise WeightsError(f"{where}: does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")


def read_weights(path: str | os.PathLike, device: str = "cpu") -> dict:
    """All tensors of a safetensors file (no pickle; one-line error naming the file when it is unreadable)."""
    from safetensors.torch import load_file

    safetensors_shapes(path)
    return load_file(str(path), device=str(device))


def load_state(module, state: Mapping[str, Any], where: str | os.PathLike) -> None:
    """`module.load_state_dict(state)` after checking names and shapes (one-line error naming `where`)."""
    expected = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    check_shapes(expected, {name: tuple(t.shape) for name, t in state.items()}, where)
    module.load_state_dict(state)


def load_weights(module, path: str | os.PathLike, device: str = "cpu") -> None:
    """Load a safetensors file written by `save_model` into `module` (checked: one-line errors naming the file)."""
    from safetensors.torch import load_model

    found = safetensors_shapes(path)
    check_shapes(_expected_in_file(module.state_dict(), found), found, path)
    load_model(module, str(path), strict=True, device=str(device))


def _expected_in_file(state: Mapping[str, Any], found: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Shapes of the tensors a `save_model` file must hold: tied aliases (one storage under several names, e.g. an
    output layer tied to the embeddings) are saved once, under any one of their names."""
    saved_ptrs = {state[n].data_ptr() for n in found if n in state}
    return {n: tuple(t.shape) for n, t in state.items() if n in found or t.data_ptr() not in saved_ptrs}


class TensorBatch:
    """Mixin for dataclass batches: `batch.to(device)` is a copy with every tensor field moved (others kept)."""

    def to(self, device: Any):
        import dataclasses

        import torch

        moved = {f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)
                 if isinstance(getattr(self, f.name), torch.Tensor)}
        return dataclasses.replace(self, **moved)


def pick_device(preference: str = "auto"):
    """The one place a device is chosen: 'auto' -> CUDA when present, else CPU."""
    import torch

    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
