"""Rotation maths on numpy arrays: Euler angles <-> matrices (BVH conventions), forward kinematics, slerp,
time-continuous Euler angles, and the rotation fits inverse kinematics needs (Kabsch, smallest swing).

Conventions (those of the BVH format, MotionBuilder and Blender): the rotation for an Euler `order` such as
'ZXY' is `R = Rz @ Rx @ Ry` (intrinsic Z, X', Y''), angles in degrees, acting on column vectors; globally
`R_j = R_parent @ L_j` and `p_j = p_parent + R_parent @ t_j`.

    >>> import numpy as np
    >>> R = euler_to_matrix(np.array([90.0, 0.0, 0.0]), "ZXY")
    >>> np.round(R @ np.array([1.0, 0.0, 0.0]), 6) + 0.0   # +X turned 90 degrees about Z
    array([0., 1., 0.])
    >>> np.round(matrix_to_euler(R, "ZXY"), 6) + 0.0
    array([90.,  0.,  0.])
"""
from __future__ import annotations

import numpy as np

from motiongpt.motion.quaternion import normalize

AXIS = {"X": 0, "Y": 1, "Z": 2}


def forward_kinematics(parents: np.ndarray, local_r: np.ndarray, local_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations (T, J, 3, 3) + translations (T, J, 3) -> global rotations and positions (parents first)."""
    global_r = np.empty_like(local_r)
    global_p = np.empty_like(local_t)
    for j, p in enumerate(parents):
        if p < 0:
            global_r[:, j] = local_r[:, j]
            global_p[:, j] = local_t[:, j]
        else:
            global_r[:, j] = global_r[:, p] @ local_r[:, j]
            global_p[:, j] = global_p[:, p] + np.einsum("tab,tb->ta", global_r[:, p], local_t[:, j])
    return global_r, global_p


def slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (..., 4) with weights w (...) towards q1 (same hemisphere)."""
    dot = np.clip(np.sum(q0 * q1, axis=-1), -1.0, 1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    small = sin < 1e-6
    safe = np.where(small, 1.0, sin)
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / safe)
    b = np.where(small, w, np.sin(w * theta) / safe)
    q = a[..., None] * q0 + b[..., None] * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def axis_rotation(angles: np.ndarray, axis: int) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about one coordinate axis by `angles` (...) radians."""
    c, s = np.cos(angles), np.sin(angles)
    m = np.zeros(angles.shape + (3, 3))
    i, k = (axis + 1) % 3, (axis + 2) % 3
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., k, k] = c
    m[..., k, i] = s
    m[..., i, k] = -s
    return m


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Angles (..., n) in degrees about the axes of `order` (e.g. 'ZXY') -> R = R_o1 @ R_o2 @ ... (..., 3, 3)."""
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    result = axis_rotation(angles[..., 0], AXIS[order[0]])
    for k in range(1, len(order)):
        result = result @ axis_rotation(angles[..., k], AXIS[order[k]])
    return result


def matrix_to_euler(rotations: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> Euler angles (..., 3) in degrees for R = R_o1 @ R_o2 @ R_o3.

    Angles are in their principal ranges; see `make_continuous` for the time-continuous version.
    """
    from scipy.spatial.transform import Rotation

    flat = rotations.reshape(-1, 3, 3)
    angles = Rotation.from_matrix(flat).as_euler(order.upper(), degrees=True)  # upper case: intrinsic
    return angles.reshape(rotations.shape[:-2] + (3,))


def make_continuous(angles: np.ndarray) -> np.ndarray:
    """Euler angles (T, J, 3) -> equivalent angles without 360 deg wraps or branch flips between frames.

    Each frame picks, of the two Euler solutions (a, b, c) and (a + 180, 180 - b, c + 180) (equal rotations
    for every Tait-Bryan order), shifted by multiples of 360 deg, the one closest to the previous frame.
    """
    alt = angles + np.array([180.0, 180.0, 180.0])
    alt[..., 1] = 180.0 - angles[..., 1]
    out = angles.copy()
    for t in range(1, len(angles)):
        prev = out[t - 1]
        cands = np.stack([angles[t], alt[t]])  # (2, J, 3)
        cands = cands + 360.0 * np.round((prev - cands) / 360.0)
        dist = np.abs(cands - prev).sum(-1)  # (2, J)
        out[t] = np.where((dist[1] < dist[0])[:, None], cands[1], cands[0])
    return out


def frame_from_axes(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) whose columns are (x=left, y=up orthogonalised, z=x cross y = forward)."""
    x = normalize(left)
    y = normalize(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def kabsch(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations (T, 3, 3) best mapping rest vectors (K, 3) onto target vectors (T, K, 3)."""
    h = np.einsum("ka,tkb->tab", rest, target)  # (T, 3, 3) covariance
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d
    return np.swapaxes(vt, -1, -2) @ fix @ np.swapaxes(u, -1, -2)


def min_rotation(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotations (T, 3, 3) taking directions u (T, 3) onto v (T, 3) (Rodrigues; 180 deg handled)."""
    u, v = normalize(u), normalize(v)
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(u * v, axis=-1)
    opposite = (s < 1e-8) & (c < 0)
    if opposite.any():  # any axis orthogonal to u
        helper = np.where(np.abs(u[opposite, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
        axis[opposite] = np.cross(u[opposite], helper)
        s[opposite] = 0.0
    k = normalize(axis)
    angle = np.arctan2(s, c)
    kx = np.zeros(u.shape + (3,))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    kx[:, 1, 0], kx[:, 2, 0], kx[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    sin, cos = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + sin * kx + (1 - cos) * (kx @ kx)
