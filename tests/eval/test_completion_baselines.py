"""Prediction / in-between baselines against hand-computed cases."""
import numpy as np
import pytest

from motiongpt.eval.baselines import hermite_inbetween, hold_last_pose, linear_inbetween
from motiongpt.motion.skeleton import SMPL22


def _walker(frames: int = 20, speed: float = 0.1) -> np.ndarray:
    """A rigid T-pose facing +Z whose root walks `speed` m per frame along +Z."""
    pose = np.zeros((22, 3))
    r_hip, l_hip, r_sdr, l_sdr = SMPL22.face_joints
    pose[[l_hip, l_sdr], 0], pose[[r_hip, r_sdr], 0] = 0.1, -0.1
    pose[:, 1] = 0.9
    return pose[None] + np.arange(frames)[:, None, None] * np.array([0.0, 0.0, speed])


def test_hold_and_linear_hand_computed():
    joints = np.zeros((10, 22, 3), np.float32)
    joints[6:] = 1.0
    held = hold_last_pose(joints + np.arange(10)[:, None, None], 3)
    assert np.all(held[3:] == 2.0)
    out = linear_inbetween(joints, 2)
    assert out[1, 0, 0] == 0.0 and out[8, 0, 0] == 1.0
    assert np.allclose(out[2:8, 0, 0], np.arange(1, 7) / 7)  # 7 equal steps from frame 1 to frame 8


def test_hermite_reproduces_a_constant_velocity_walk():
    joints = _walker()
    assert np.allclose(hermite_inbetween(joints, 4), joints, atol=1e-9)


def test_hermite_matches_velocities_at_both_seams():
    joints = _walker(30)
    joints[15:] += np.array([2.0, 0.0, 0.0])  # the end clip stands 2 m to the side
    out = hermite_inbetween(joints, 8)  # gap frames 8..21
    vel = np.diff(out[:, 0], axis=0)
    assert np.allclose(vel[6], vel[7], atol=0.05) and np.allclose(vel[21], vel[22], atol=0.05)
    assert out[22, 0, 0] == pytest.approx(2.0) and out[7, 0, 0] == pytest.approx(0.0)
