"""Tests for motiongpt.motion.mirror: feature-space mirroring agrees with mirroring the joints."""
from __future__ import annotations

import numpy as np
import torch

from motiongpt.motion.features import GROUPS, HUMANML3D_LAYOUT, joints_to_features
from motiongpt.motion.mirror import mirror_features, mirror_joints
from motiongpt.motion.quaternion import cont6d_to_matrix
from motiongpt.motion.skeleton import SMPL22


def _group_errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    diff = np.abs(a.astype(np.float64) - b)
    return {g: float(HUMANML3D_LAYOUT.get(diff, g).max()) for g in GROUPS}


def test_mirror_joints_negates_x_and_swaps_sides(clip):
    mirrored = mirror_joints(clip)
    left, right = SMPL22.joint("left_wrist"), SMPL22.joint("right_wrist")
    np.testing.assert_array_equal(mirrored[:, left], clip[:, right] * [-1.0, 1.0, 1.0])
    np.testing.assert_array_equal(mirror_joints(mirrored), clip)
    assert torch.equal(mirror_joints(torch.from_numpy(clip)), torch.from_numpy(mirrored))


def test_mirror_features_matches_mirrored_joints_without_retarget(clip):
    a = mirror_features(joints_to_features(clip, retarget=False))
    b = joints_to_features(mirror_joints(clip), retarget=False)
    errors = _group_errors(a, b)
    print("\nmirror equivariance (retarget=False): " + ", ".join(f"{g} {e:.1e}" for g, e in errors.items()))
    assert max(errors.values()) <= 1e-5


def test_mirror_features_with_retarget_differs_only_by_reference_asymmetry(clip):
    a = mirror_features(joints_to_features(clip))
    b = joints_to_features(mirror_joints(clip))
    errors = _group_errors(a, b)
    print("\nmirror equivariance (retarget to the HumanML3D reference): "
          + ", ".join(f"{g} {e:.1e}" for g, e in errors.items()))
    assert errors["ric"] <= 0.02 and errors["root_rot_vel"] <= 1e-2 and errors["rot6d"] <= 0.05


def test_mirror_features_twice_is_identity_np_and_torch(clip):
    features = joints_to_features(clip)
    np.testing.assert_array_equal(mirror_features(mirror_features(features)), features)
    batch = torch.from_numpy(np.stack([features, features[::-1].copy()]))
    out = mirror_features(batch)
    assert isinstance(out, torch.Tensor) and out.shape == batch.shape
    np.testing.assert_array_equal(out[0].numpy(), mirror_features(features))


def test_mirror_features_rotations_and_contacts(clip):
    features = joints_to_features(clip)
    mirrored = mirror_features(features)
    m = np.diag([-1.0, 1.0, 1.0])
    knee_l, knee_r = SMPL22.joint("left_knee") - 1, SMPL22.joint("right_knee") - 1  # rot6d skips the root
    rot = cont6d_to_matrix(HUMANML3D_LAYOUT.get(features, "rot6d")[:, knee_r].astype(np.float64))
    rot_m = cont6d_to_matrix(HUMANML3D_LAYOUT.get(mirrored, "rot6d")[:, knee_l].astype(np.float64))
    np.testing.assert_allclose(rot_m, m @ rot @ m, atol=1e-6)
    contacts = HUMANML3D_LAYOUT.get(features, "foot_contact")
    np.testing.assert_array_equal(HUMANML3D_LAYOUT.get(mirrored, "foot_contact"), contacts[:, [2, 3, 0, 1]])
    yaw = HUMANML3D_LAYOUT.get(features, "root_rot_vel")
    np.testing.assert_array_equal(HUMANML3D_LAYOUT.get(mirrored, "root_rot_vel"), -yaw)
