"""Inverse kinematics for SMPL-22 joint positions: rest offsets fitted to a motion, and per-frame global
rotations that reproduce it (`solve_ik`); used by the BVH and glTF writers.

The rest pose is a T-pose facing +Z (Y up, the SMPL left on +X) except for the children of the two branching
joints (pelvis: hips + spine1; spine3: neck + collars), whose rest offsets are the median of the child vectors
in the joint's own frame so that those rigid groups are fitted exactly (Kabsch/SVD). Single-child joints
swing their bone onto the target with the smallest rotation from the parent's frame (no twist, continuous).

    offsets = rest_offsets(joints)             # joints (T, 22, 3) metres -> (22, 3)
    rotations, positions = solve_ik(joints, offsets)   # (T, 22, 3, 3), (T, 22, 3)
"""
from __future__ import annotations

import numpy as np

from motiongpt.motion.rotation import frame_from_axes, kabsch, min_rotation
from motiongpt.motion.skeleton import SMPL22

_T_POSE_DIRECTIONS = {  # rest direction of the bone from a joint's parent to the joint (single-child parents)
    "left_knee": (0, -1, 0), "right_knee": (0, -1, 0), "left_ankle": (0, -1, 0), "right_ankle": (0, -1, 0),
    "left_foot": (0, 0, 1), "right_foot": (0, 0, 1), "spine2": (0, 1, 0), "spine3": (0, 1, 0),
    "head": (0, 1, 0), "left_shoulder": (1, 0, 0), "right_shoulder": (-1, 0, 0), "left_elbow": (1, 0, 0),
    "right_elbow": (-1, 0, 0), "left_wrist": (1, 0, 0), "right_wrist": (-1, 0, 0),
}
_FRAME_JOINTS = {  # branching joint -> (left child, right child, upper child) defining its own frame
    "pelvis": ("left_hip", "right_hip", "spine1"),
    "spine3": ("left_collar", "right_collar", "neck"),
}


def rest_offsets(joints: np.ndarray) -> np.ndarray:
    """(22, 3) rest offsets in metres: T-pose directions, median lengths; median local vectors for branches."""
    names, parents = SMPL22.joint_names, SMPL22.parents
    offsets = np.zeros((len(names), 3))
    lengths = np.median(np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1), axis=0)  # (21,)
    for j in range(1, len(names)):
        if names[j] in _T_POSE_DIRECTIONS:
            offsets[j] = np.asarray(_T_POSE_DIRECTIONS[names[j]], dtype=np.float64) * lengths[j - 1]
    for joint, (left, right, up) in _FRAME_JOINTS.items():
        j = SMPL22.joint(joint)
        frame = frame_from_axes(joints[:, SMPL22.joint(left)] - joints[:, SMPL22.joint(right)],
                                 joints[:, SMPL22.joint(up)] - joints[:, j])  # (T, 3, 3)
        for c in np.flatnonzero(parents == j):
            local = np.einsum("tba,tb->ta", frame, joints[:, c] - joints[:, j])  # frame^T @ v: (T, 3)
            offsets[c] = np.median(local, axis=0)
    return offsets


def solve_ik(joints: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations (T, 22, 3, 3) and reconstructed positions (T, 22, 3) fitting `joints` with `offsets`.

    Joints are visited parents first; each joint's rotation aims its rest child offsets at the targets seen
    from its *reconstructed* position (Kabsch for several children, smallest swing for one, the parent's
    rotation for leaves), then its children are placed by forward kinematics.
    """
    parents = SMPL22.parents
    T, J = joints.shape[:2]
    rot = np.zeros((T, J, 3, 3))
    pos = np.zeros((T, J, 3))
    pos[:, 0] = joints[:, 0]
    for j in range(J):  # SMPL22 order lists every parent before its children
        children = np.flatnonzero(parents == j)
        parent_rot = rot[:, parents[j]] if j > 0 else np.broadcast_to(np.eye(3), (T, 3, 3))
        if len(children) > 1:
            rot[:, j] = kabsch(offsets[children], joints[:, children] - pos[:, j:j + 1])
        elif len(children) == 1:
            c = children[0]
            swing = min_rotation(np.einsum("tab,b->ta", parent_rot, offsets[c]), joints[:, c] - pos[:, j])
            rot[:, j] = swing @ parent_rot
        else:
            rot[:, j] = parent_rot
        for c in children:
            pos[:, c] = pos[:, j] + np.einsum("tab,b->ta", rot[:, j], offsets[c])
    return rot, pos
