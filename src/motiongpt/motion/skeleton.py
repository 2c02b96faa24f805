"""Skeleton definitions: HumanML3D's 22-joint SMPL skeleton and KIT-ML's 21-joint skeleton.

Conventions follow HumanML3D (Guo et al., 2022, `paramUtil.py`): Y is up, the body faces +Z at frame 0,
SMPL's left side is +X
(KIT-ML's right side is +X: its names below follow KIT's own face-joint convention). Every constant another module needs (chains, raw offsets, foot and face joints,
left/right pairs) lives here so that no module hard-codes joint indices.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A named kinematic tree with the HumanML3D feature conventions."""

    name: str
    joint_names: tuple[str, ...]
    kinematic_chains: tuple[tuple[int, ...], ...]
    raw_offsets: np.ndarray = field(repr=False)  # (J, 3) unit direction of each bone in the rest pose
    foot_right: tuple[int, int]  # (ankle, toe/foot) of the right leg: foot-contact joints
    foot_left: tuple[int, int]
    face_joints: tuple[int, int, int, int]  # (r_hip, l_hip, r_shoulder, l_shoulder): facing direction
    leg_joints: tuple[int, int]  # (hip-to-knee joint a, b) used to scale to the reference leg length

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def parents(self) -> np.ndarray:
        """(J,) parent index of every joint, -1 for the root."""
        parents = np.full(self.num_joints, -1, dtype=np.int64)
        for chain in self.kinematic_chains:
            for parent, child in zip(chain[:-1], chain[1:]):
                parents[child] = parent
        return parents

    @property
    def mirror_permutation(self) -> np.ndarray:
        """(J,) index of each joint's left/right twin (itself for central joints)."""
        perm = np.arange(self.num_joints)
        index = {n: i for i, n in enumerate(self.joint_names)}
        for i, n in enumerate(self.joint_names):
            for a, b in (("left", "right"), ("right", "left")):
                if n.startswith(a + "_"):
                    perm[i] = index[b + n[len(a):]]
        return perm

    def joint(self, name: str) -> int:
        """Index of a joint by name (raises KeyError with the known names)."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"{self.name} has no joint {name!r}; joints: {', '.join(self.joint_names)}") from None


SMPL22 = Skeleton(
    name="smpl22",
    joint_names=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
        "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
        "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    kinematic_chains=((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20)),
    raw_offsets=np.array(
        [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
         [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
         [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]],
        dtype=np.float64,
    ),
    foot_right=(8, 11),
    foot_left=(7, 10),
    face_joints=(2, 1, 17, 16),
    leg_joints=(5, 8),
)

KIT21 = Skeleton(
    name="kit21",
    joint_names=(
        "root", "bp", "bt", "neck", "head", "right_shoulder", "right_elbow", "right_wrist",
        "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
        "right_heel", "right_toe", "left_hip", "left_knee", "left_ankle", "left_heel", "left_toe",
    ),
    kinematic_chains=((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4), (3, 5, 6, 7), (3, 8, 9, 10)),
    raw_offsets=np.array(
        [[0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
         [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
         [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1]],
        dtype=np.float64,
    ),
    foot_right=(14, 15),
    foot_left=(19, 20),
    face_joints=(11, 16, 5, 8),
    leg_joints=(17, 18),
)

SKELETONS = {s.name: s for s in (SMPL22, KIT21)}


def check_joints(joints: np.ndarray, skeleton: Skeleton, what: str = "joints", min_frames: int = 1) -> np.ndarray:
    """Joint positions (T, J, 3) for `skeleton` with at least `min_frames` frames, all finite, as float64.

    The one shape/finiteness check shared by the feature extractor and the BVH and glTF writers; errors are
    one `ValueError` line starting with `what`.
    """
    joints = np.asarray(joints)
    j = skeleton.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (j, 3):
        raise ValueError(f"{what}: expected shape (T, {j}, 3) for {skeleton.name}, got {joints.shape}")
    if joints.shape[0] < min_frames:
        raise ValueError(f"{what}: need at least {min_frames} frames, got shape {joints.shape}")
    if not np.issubdtype(joints.dtype, np.number) or np.iscomplexobj(joints) or not np.isfinite(joints).all():
        raise ValueError(f"{what}: joint positions must be finite real numbers (NaN, infinite or complex found)")
    return joints.astype(np.float64)
