"""Mean/Std normalisation of motion features (HumanML3D's `Mean.npy` / `Std.npy`).

`Normalizer.fit` follows HumanML3D's `cal_mean_variance.mean_variance`: the per-dimension mean, and a std
that is the per-dimension std averaged within each feature group (root_rot_vel, root_lin_vel, root_y, ric,
rot6d, local_vel, foot_contact), so all dims of a group share one scale. With `feat_bias` (T2M's training
option, 5 in Guo et al.) the root groups (root_rot_vel, root_lin_vel, root_y) and foot_contact are further
divided by it, which up-weights them; the released HumanML3D Mean/Std use feat_bias 1. A group whose std is
0 (constant over the data) is left unscaled (std 1).

Usage:
    norm = Normalizer.load(data_dir)           # Mean.npy, Std.npy
    z = norm.normalize(features)               # np or torch (..., D), any device/dtype
    features = norm.denormalize(z)
    Normalizer.fit([f1, f2, ...]).save(out_dir)
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable, TypeVar

import numpy as np
import torch

from motiongpt.motion.features import GROUPS, FeatureLayout, layout_for_dim
from motiongpt.utils import atomic_save_npy

Array = TypeVar("Array", np.ndarray, torch.Tensor)

MEAN_FILE = "Mean.npy"
STD_FILE = "Std.npy"
BIASED_GROUPS = ("root_rot_vel", "root_lin_vel", "root_y", "foot_contact")
"""Groups whose std T2M divides by feat_bias."""


class Normalizer:
    """Feature-wise (x - mean) / std with mean, std of shape (D,)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float32)
        std = np.asarray(std, dtype=np.float32)
        if mean.ndim != 1 or std.shape != mean.shape:
            raise ValueError(f"mean and std must both have shape (D,), got {mean.shape} and {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std <= 0).any():
            raise ValueError("std must be finite and > 0 and mean finite in every dimension")
        self.mean = mean
        self.std = std
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def layout(self) -> FeatureLayout:
        """Feature layout of this normaliser's dimension (ValueError for unknown dims)."""
        return layout_for_dim(self.dim)

    def _stats(self, x: Array) -> tuple[Array, Array]:
        """mean and std as x's kind, dtype and device; checks x is (..., D)."""
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"features: expected last dimension {self.dim}, got shape {tuple(x.shape)}")
        if isinstance(x, torch.Tensor):
            key = (x.device, x.dtype)
            if key not in self._cache:
                self._cache[key] = (
                    torch.as_tensor(self.mean, device=x.device).to(x.dtype),
                    torch.as_tensor(self.std, device=x.device).to(x.dtype),
                )
            return self._cache[key]
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
        return self.mean.astype(dtype, copy=False), self.std.astype(dtype, copy=False)

    def normalize(self, x: Array) -> Array:
        """(x - mean) / std for raw features x (..., D)."""
        mean, std = self._stats(x)
        return (x - mean) / std

    def denormalize(self, z: Array) -> Array:
        """z * std + mean for normalised features z (..., D)."""
        mean, std = self._stats(z)
        return z * std + mean

    def save(self, directory: str | os.PathLike) -> None:
        """Write Mean.npy and Std.npy (float32) atomically into `directory`."""
        directory = Path(directory)
        atomic_save_npy(directory / MEAN_FILE, self.mean)
        atomic_save_npy(directory / STD_FILE, self.std)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Normalizer":
        """Read Mean.npy and Std.npy from `directory`."""
        directory = Path(directory)
        arrays = []
        for name in (MEAN_FILE, STD_FILE):
            path = directory / name
            if not path.is_file():
                raise FileNotFoundError(f"normaliser file not found: {path}")
            array = np.load(path)
            if array.ndim != 1:
                raise ValueError(f"{path}: expected shape (D,), got {array.shape}")
            arrays.append(array)
        if arrays[0].shape != arrays[1].shape:
            raise ValueError(f"{directory}: {MEAN_FILE} has shape {arrays[0].shape} but {STD_FILE} {arrays[1].shape}")
        try:
            return cls(*arrays)
        except ValueError as err:
            raise ValueError(f"{directory}: {err}") from None

    @classmethod
    def fit(
        cls, features: Iterable[np.ndarray], layout: FeatureLayout | None = None, feat_bias: float = 1.0
    ) -> "Normalizer":
        """HumanML3D mean/std of feature arrays (T_i, D); arrays with NaN are skipped with a warning."""
        kept = []
        for i, array in enumerate(features):
            array = np.asarray(array, dtype=np.float64)
            if array.ndim != 2 or (layout is not None and array.shape[1] != layout.dim):
                expected = f"(T, {layout.dim})" if layout is not None else "(T, D)"
                raise ValueError(f"features[{i}]: expected shape {expected}, got {array.shape}")
            if np.isnan(array).any():
                warnings.warn(f"features[{i}] contains NaN; skipped", stacklevel=2)
                continue
            kept.append(array)
        if not kept:
            raise ValueError("Normalizer.fit: no usable feature arrays")
        dims = {a.shape[1] for a in kept}
        if len(dims) != 1:
            raise ValueError(f"Normalizer.fit: feature arrays have different dimensions {sorted(dims)}")
        layout = layout or layout_for_dim(dims.pop())
        data = np.concatenate(kept, axis=0)  # (sum T_i, D)
        return cls(data.mean(axis=0), group_std(data.std(axis=0), layout, feat_bias))


def group_std(std: np.ndarray, layout: FeatureLayout, feat_bias: float = 1.0) -> np.ndarray:
    """Per-dimension std (D,) -> the group-averaged std (D,) of HumanML3D (see module docstring)."""
    if feat_bias <= 0:
        raise ValueError(f"feat_bias must be > 0, got {feat_bias}")
    out = np.empty_like(std)
    for name in GROUPS:
        part = layout.slice(name)
        value = std[part].mean()
        value = value if value > 0 else 1.0
        out[part] = value / feat_bias if name in BIASED_GROUPS else value
    return out
