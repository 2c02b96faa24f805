"""Synthetic motions shared by the tests (importable: tests/ is on sys.path through tests/conftest.py)."""
from __future__ import annotations

import numpy as np

from motiongpt.motion.skeleton import SMPL22


def rest_pose(bone: float = 0.2) -> np.ndarray:
    """(22, 3) SMPL-22 rest pose built from the raw offsets, standing on the floor (y = 0)."""
    rest = np.zeros((22, 3))
    for j in range(1, 22):
        rest[j] = rest[SMPL22.parents[j]] + SMPL22.raw_offsets[j] * bone
    rest[:, 1] -= rest[:, 1].min()
    return rest


def walking(frames: int = 12) -> np.ndarray:
    """A small synthetic SMPL-22 motion (T, 22, 3): the rest pose stepping forward along +Z."""
    joints = np.repeat(rest_pose()[None], frames, axis=0)
    joints[:, :, 2] += 0.05 * np.arange(frames)[:, None]
    return joints.astype(np.float32)
