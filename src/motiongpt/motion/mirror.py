"""Left/right mirroring of motions, on joints and directly in HumanML3D feature space.

Mirroring negates X and swaps every left joint with its right twin (`Skeleton.mirror_permutation`), as
HumanML3D's `swap_left_right` does to build its `M<id>` clips. In feature space (M = diag(-1, 1, 1)):
root_rot_vel flips sign (yaw reverses), root_lin_vel and every position/velocity vector negate x, joints are
permuted, each 6-D rotation R becomes M R M (signs + - - - + + on its two columns), and the left and right
foot contacts swap. `mirror_features(joints_to_features(j))` equals `joints_to_features(mirror_joints(j))`
up to the left/right asymmetry of the reference skeleton used for retargeting (exactly with retarget=False).

Usage:
    mirrored = mirror_features(features)   # (..., T, 263) np or torch
    mirrored_joints = mirror_joints(joints)  # (..., T, 22, 3)
"""
from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from motiongpt.motion.features import FeatureLayout, layout_for_dim
from motiongpt.motion.skeleton import SMPL22, Skeleton

Array = TypeVar("Array", np.ndarray, torch.Tensor)

_X_FLIP = (-1.0, 1.0, 1.0)
_ROT6D_FLIP = (1.0, -1.0, -1.0, -1.0, 1.0, 1.0)  # columns 0 and 1 of M R M, M = diag(-1, 1, 1)


def _const(values: tuple[float, ...], like: Array) -> Array:
    """A constant vector of `like`'s kind, dtype and device."""
    if isinstance(like, torch.Tensor):
        return torch.tensor(values, dtype=like.dtype, device=like.device)
    return np.asarray(values, dtype=like.dtype)


def _take(x: Array, index: np.ndarray, axis: int) -> Array:
    """x permuted by `index` along `axis`."""
    if isinstance(x, torch.Tensor):
        return x.index_select(axis % x.ndim, torch.as_tensor(index, device=x.device))
    return np.take(x, index, axis=axis)


def mirror_joints(joints: Array, skeleton: Skeleton = SMPL22) -> Array:
    """Mirror joints (..., T, J, 3) (np or torch): negate X, swap left and right joints."""
    if joints.ndim < 2 or tuple(joints.shape[-2:]) != (skeleton.num_joints, 3):
        raise ValueError(
            f"joints: expected shape (..., {skeleton.num_joints}, 3) for {skeleton.name}, got {tuple(joints.shape)}"
        )
    return _take(joints, skeleton.mirror_permutation, axis=-2) * _const(_X_FLIP, joints)


def mirror_features(features: Array, layout: FeatureLayout | None = None) -> Array:
    """Mirror features (..., T, D) (np or torch) in feature space; layout defaults to layout_for_dim(D)."""
    if features.ndim < 1:
        raise ValueError(f"features: expected shape (..., D), got {tuple(features.shape)}")
    layout = layout or layout_for_dim(features.shape[-1])
    layout.check(features)
    perm = layout.skeleton.mirror_permutation  # (J,)
    body_perm = perm[1:] - 1  # (J-1,) the same permutation on non-root joints
    half = len(layout.skeleton.foot_left)
    contact_perm = np.r_[np.arange(half, 2 * half), np.arange(half)]  # left feet <-> right feet
    x_flip = _const(_X_FLIP, features)
    return layout.assemble({
        "root_rot_vel": -layout.get(features, "root_rot_vel"),
        "root_lin_vel": layout.get(features, "root_lin_vel") * _const((-1.0, 1.0), features),
        "root_y": layout.get(features, "root_y"),
        "ric": _take(layout.get(features, "ric"), body_perm, axis=-2) * x_flip,
        "rot6d": _take(layout.get(features, "rot6d"), body_perm, axis=-2) * _const(_ROT6D_FLIP, features),
        "local_vel": _take(layout.get(features, "local_vel"), perm, axis=-2) * x_flip,
        "foot_contact": _take(layout.get(features, "foot_contact"), contact_perm, axis=-1),
    })
