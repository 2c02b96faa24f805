"""Quaternion and continuous 6-D rotation operations for numpy arrays and torch tensors.

Quaternions are (w, x, y, z), real part first, and act on column vectors (Hamilton product), following the
conventions of HumanML3D's `common/quaternion.py` so that features computed here match the dataset. Every
function takes either numpy arrays or torch tensors (both arguments of the same kind) and returns the same
kind; leading dimensions broadcast.

The 6-D rotation ("cont6d", Zhou et al. 2019) of a rotation matrix R is its first two columns,
`[R[:, 0], R[:, 1]]`, the layout HumanML3D stores in its `rot6d` feature group.

Usage:
    q = qbetween(np.array([0., 0., 1.]), np.array([1., 0., 0.]))  # rotates +Z onto +X
    qrot(q, np.array([0., 0., 2.]))  # -> [2, 0, 0]
"""
from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)

_EPS = 1e-12


def _is_torch(x: np.ndarray | torch.Tensor) -> bool:
    return isinstance(x, torch.Tensor)


def _cat(parts: list, dim: int = -1):
    """Concatenate numpy arrays or torch tensors along `dim`."""
    return torch.cat(parts, dim=dim) if _is_torch(parts[0]) else np.concatenate(parts, axis=dim)


def _stack(parts: list, dim: int = -1):
    """Stack numpy arrays or torch tensors along a new `dim`."""
    return torch.stack(parts, dim=dim) if _is_torch(parts[0]) else np.stack(parts, axis=dim)


def _cross(a: Array, b: Array) -> Array:
    """Cross product over the last axis (broadcasting)."""
    if _is_torch(a):
        a, b = torch.broadcast_tensors(a, b)
        return torch.linalg.cross(a, b, dim=-1)
    return np.cross(a, b, axis=-1)


def _norm(x: Array) -> Array:
    """Euclidean norm over the last axis, keeping it: (..., k) -> (..., 1)."""
    if _is_torch(x):
        return torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return np.linalg.norm(x, axis=-1, keepdims=True)


def _dot(a: Array, b: Array) -> Array:
    """Dot product over the last axis, keeping it: (..., k) -> (..., 1)."""
    return (a * b).sum(-1)[..., None]


def _check_last(x: np.ndarray | torch.Tensor, size: int, name: str) -> None:
    if x.shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}), got {tuple(x.shape)}")


def normalize(v: Array) -> Array:
    """Scale vectors (..., k) to unit length (zero vectors stay zero)."""
    n = _norm(v)
    return v / (n.clamp_min(_EPS) if _is_torch(n) else np.maximum(n, _EPS))


def qnormalize(q: Array) -> Array:
    """Unit quaternions (..., 4)."""
    _check_last(q, 4, "q")
    return normalize(q)


def qinv(q: Array) -> Array:
    """Inverse (conjugate) of unit quaternions (..., 4)."""
    _check_last(q, 4, "q")
    return _cat([q[..., :1], -q[..., 1:]])


def qmul(q: Array, r: Array) -> Array:
    """Hamilton product q * r of quaternions (..., 4) (apply r first, then q)."""
    _check_last(q, 4, "q")
    _check_last(r, 4, "r")
    w1, x1, y1, z1 = (q[..., i] for i in range(4))
    w2, x2, y2, z2 = (r[..., i] for i in range(4))
    return _stack([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ])


def qrot(q: Array, v: Array) -> Array:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4); leading dims broadcast."""
    _check_last(q, 4, "q")
    _check_last(v, 3, "v")
    u = q[..., 1:]
    uv = _cross(u, v)
    uuv = _cross(u, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qbetween(v0: Array, v1: Array) -> Array:
    """Shortest-arc unit quaternion (..., 4) rotating direction v0 (..., 3) onto v1 (..., 3).

    Same formula as HumanML3D (w = |v0||v1| + v0.v1, xyz = v0 x v1); for opposite directions, where that
    formula is 0/0, it returns the half turn about an axis perpendicular to v0.
    """
    _check_last(v0, 3, "v0")
    _check_last(v1, 3, "v1")
    xyz = _cross(v0, v1)
    lengths = _norm(v0) * _norm(v1)  # (..., 1)
    q = _cat([lengths + _dot(v0, v1), xyz])
    degenerate = (_norm(q) <= 1e-9 * lengths)[..., 0]
    if degenerate.any():
        q = _half_turns(q, v0, degenerate)
    return qnormalize(q)


def _half_turns(q: Array, v0: Array, mask: Array) -> Array:
    """q (..., 4) with entries where `mask` (...,) replaced by a half turn about an axis perpendicular to v0."""
    if _is_torch(v0):
        e_x = torch.tensor([1.0, 0.0, 0.0], dtype=v0.dtype, device=v0.device)
        where = torch.where
    else:
        e_x = np.array([1.0, 0.0, 0.0], dtype=v0.dtype)
        where = np.where
    axis, alt = _cross(v0, e_x), _cross(v0, e_x[[1, 2, 0]])  # v0 x X, v0 x Z: one is not degenerate
    axis = where(_norm(axis) < _norm(alt), alt, axis)  # (..., 3)
    half = _cat([axis[..., :1] * 0, normalize(axis)])
    return where(mask[..., None], half, q)


def qfix(q: np.ndarray) -> np.ndarray:
    """Flip signs of quaternions (T, J, 4) along time so consecutive ones have non-negative dot products."""
    if q.ndim != 3 or q.shape[-1] != 4:
        raise ValueError(f"qfix expects (T, J, 4) quaternions, got {q.shape}")
    flips = np.cumsum((q[1:] * q[:-1]).sum(-1) < 0, axis=0) % 2 == 1  # (T-1, J)
    out = q.copy()
    out[1:][flips] *= -1
    return out


def yrot_quat(angle: Array) -> Array:
    """Quaternions (..., 4) rotating by `angle` (...,) radians about +Y."""
    half = angle / 2
    if _is_torch(half):
        c, s, z = torch.cos(half), torch.sin(half), torch.zeros_like(half)
    else:
        c, s, z = np.cos(half), np.sin(half), np.zeros_like(half)
    return _stack([c, z, s, z])


def quat_to_matrix(q: Array) -> Array:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4) (normalised on the fly)."""
    _check_last(q, 4, "q")
    r, i, j, k = (q[..., n] for n in range(4))
    two_s = 2.0 / (q * q).sum(-1)
    rows = [
        1 - two_s * (j * j + k * k), two_s * (i * j - k * r), two_s * (i * k + j * r),
        two_s * (i * j + k * r), 1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
        two_s * (i * k - j * r), two_s * (j * k + i * r), 1 - two_s * (i * i + j * j),
    ]
    return _stack(rows).reshape(tuple(q.shape[:-1]) + (3, 3))


def matrix_to_cont6d(m: Array) -> Array:
    """6-D rotations (..., 6): the first two columns of rotation matrices (..., 3, 3)."""
    if tuple(m.shape[-2:]) != (3, 3):
        raise ValueError(f"rotation matrices must have shape (..., 3, 3), got {tuple(m.shape)}")
    return _cat([m[..., :, 0], m[..., :, 1]])


def quat_to_cont6d(q: Array) -> Array:
    """6-D rotations (..., 6) of quaternions (..., 4)."""
    return matrix_to_cont6d(quat_to_matrix(q))


def cont6d_to_matrix(c: Array) -> Array:
    """Rotation matrices (..., 3, 3) from 6-D rotations (..., 6) by Gram-Schmidt (columns x, y, z)."""
    _check_last(c, 6, "cont6d")
    x = normalize(c[..., 0:3])
    z = normalize(_cross(x, c[..., 3:6]))
    y = _cross(z, x)
    return _stack([x, y, z], dim=-1)
