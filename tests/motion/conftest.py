"""Fixtures for motion tests: a small synthetic walking-and-turning SMPL-22 clip built in the test."""
from __future__ import annotations

import numpy as np
import pytest

from motiongpt.motion.features import HUMANML3D_REFERENCE
from motiongpt.motion.quaternion import qrot, yrot_quat


def synthetic_clip(frames: int = 40, seed: int = 0) -> np.ndarray:
    """(frames, 22, 3) reference pose, jittered per joint, turning about +Y and moving along a curve."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None]  # (T, 1, 1)
    pose = HUMANML3D_REFERENCE - HUMANML3D_REFERENCE[0] * np.array([1.0, 0.0, 1.0])  # (22, 3)
    phase = rng.uniform(0, 2 * np.pi, size=(1, 22, 3))
    wobble = 0.03 * np.sin(0.3 * t + phase)  # (T, 22, 3)
    wobble[:, 0] = 0.0
    yaw = 0.7 + 0.04 * np.arange(frames) + 0.1 * np.sin(0.2 * np.arange(frames))  # (T,)
    body = qrot(yrot_quat(yaw)[:, None], pose + wobble)  # (T, 22, 3)
    n = np.arange(frames)
    path = np.stack([0.05 * n, 0.02 * np.sin(0.5 * n), 0.01 * n**1.2], -1)  # (T, 3)
    return body + path[:, None] + np.array([1.5, 0.1, -2.0])


@pytest.fixture()
def make_clip():
    """The synthetic clip factory `synthetic_clip(frames=40, seed=0)`."""
    return synthetic_clip


@pytest.fixture()
def clip() -> np.ndarray:
    """A (40, 22, 3) synthetic SMPL-22 motion in metres, Y up."""
    return synthetic_clip()
