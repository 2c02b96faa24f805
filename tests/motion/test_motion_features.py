"""Tests for motiongpt.motion.features: layout, joints <-> features, invariances, golden HumanML3D samples."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from motiongpt.motion.features import (
    GROUPS,
    HUMANML3D_LAYOUT,
    HUMANML3D_REFERENCE,
    KIT_LAYOUT,
    FACING_SIGMA,
    bone_lengths,
    canonical_joints,
    features_to_joints,
    joints_to_features,
    layout_for_dim,
)
from motiongpt.motion.quaternion import qinv, qrot, yrot_quat
from motiongpt.motion.skeleton import KIT21, SMPL22

SAMPLE_IDS = ("007005", "009548", "011673", "M010655", "M010968")


def test_layouts_cover_the_feature_vector():
    for layout, dim, joints in ((HUMANML3D_LAYOUT, 263, 22), (KIT_LAYOUT, 251, 21)):
        assert layout.dim == dim and layout.num_joints == joints and layout_for_dim(dim) is layout
        stops = [layout.slice(g) for g in GROUPS]
        assert stops[0].start == 0 and stops[-1].stop == dim
        assert all(a.stop == b.start for a, b in zip(stops[:-1], stops[1:]))
    assert HUMANML3D_LAYOUT.ric == slice(4, 67) and HUMANML3D_LAYOUT.foot_contact == slice(259, 263)
    for layout in (HUMANML3D_LAYOUT, KIT_LAYOUT):  # every group is an attribute holding its slice
        assert [getattr(layout, g) for g in GROUPS] == [layout.slice(g) for g in GROUPS]


def test_layout_get_and_assemble_round_trip():
    x = np.random.default_rng(0).normal(size=(2, 5, 263))
    groups = {g: HUMANML3D_LAYOUT.get(x, g) for g in GROUPS}
    assert groups["ric"].shape == (2, 5, 21, 3) and groups["rot6d"].shape == (2, 5, 21, 6)
    assert groups["local_vel"].shape == (2, 5, 22, 3) and groups["foot_contact"].shape == (2, 5, 4)
    np.testing.assert_array_equal(HUMANML3D_LAYOUT.assemble(groups), x)
    t = torch.from_numpy(x)
    assert torch.equal(HUMANML3D_LAYOUT.get(t, "ric"), torch.from_numpy(groups["ric"]))


def test_layout_errors_are_clear():
    with pytest.raises(ValueError, match="unknown feature dimension 100; known: 263"):
        layout_for_dim(100)
    with pytest.raises(ValueError, match=r"expected shape \(\.\.\., 263\).*got \(3, 251\)"):
        HUMANML3D_LAYOUT.get(np.zeros((3, 251)), "ric")
    with pytest.raises(KeyError, match="unknown feature group 'foo'"):
        HUMANML3D_LAYOUT.slice("foo")


def test_joints_to_features_shape_and_errors(clip):
    features = joints_to_features(clip)
    assert features.shape == (39, 263) and features.dtype == np.float32 and np.isfinite(features).all()
    with pytest.raises(ValueError, match=r"expected shape \(T, 22, 3\) for smpl22, got \(40, 21, 3\)"):
        joints_to_features(clip[:, :21])
    with pytest.raises(ValueError, match="at least 2 frames"):
        joints_to_features(clip[:1])
    bad = clip.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        joints_to_features(bad)


def test_canonical_joints_are_retargeted_floored_and_face_z(clip):
    canon = canonical_joints(clip)
    target = bone_lengths(HUMANML3D_REFERENCE, SMPL22)  # (22,)
    np.testing.assert_allclose(bone_lengths(canon, SMPL22), np.broadcast_to(target, (40, 22)), atol=1e-9)
    assert abs(canon[..., 1].min()) < 1e-12
    np.testing.assert_allclose(canon[0, 0, [0, 2]], 0.0, atol=1e-12)
    r_hip, l_hip, r_sdr, l_sdr = SMPL22.face_joints
    across = canon[0, r_hip] - canon[0, l_hip] + canon[0, r_sdr] - canon[0, l_sdr]
    forward = np.cross([0.0, 1.0, 0.0], across)
    np.testing.assert_allclose(forward / np.linalg.norm(forward), [0.0, 0.0, 1.0], atol=1e-9)


def test_features_to_joints_inverts_joints_to_features(clip):
    recovered = features_to_joints(joints_to_features(clip))  # (39, 22, 3)
    np.testing.assert_allclose(recovered, canonical_joints(clip)[:-1], atol=2e-5)


def test_features_to_joints_torch_batch_matches_items_and_numpy(make_clip):
    items = [joints_to_features(make_clip(30, seed)) for seed in range(3)]
    batch = torch.from_numpy(np.stack(items))  # (3, 29, 263)
    joints = features_to_joints(batch)
    assert isinstance(joints, torch.Tensor) and joints.shape == (3, 29, 22, 3) and joints.dtype == torch.float32
    for i, item in enumerate(items):
        np.testing.assert_allclose(joints[i].numpy(), features_to_joints(item), atol=1e-6)
    grad_in = batch.double().requires_grad_()
    features_to_joints(grad_in).sum().backward()
    assert grad_in.grad is not None and torch.isfinite(grad_in.grad).all()


def test_features_are_invariant_to_xz_translation_and_yaw(clip):
    reference = joints_to_features(clip)
    moved = clip + np.array([3.0, 0.4, -7.0])
    turned = qrot(yrot_quat(np.array(1.1)), clip)
    np.testing.assert_allclose(joints_to_features(moved), reference, atol=1e-5)
    np.testing.assert_allclose(joints_to_features(turned), reference, atol=1e-5)


def test_kit_layout_and_reference_handling():
    kit = np.random.default_rng(1).normal(size=(21, 3)) * 100.0
    joints = np.repeat(kit[None], 12, axis=0) + np.linspace(0, 500, 12)[:, None, None] * np.array([1.0, 0.0, 0.0])
    assert joints_to_features(joints, KIT21, retarget=False).shape == (11, 251)
    assert joints_to_features(joints, KIT21, reference=kit * 1.1).shape == (11, 251)
    with pytest.raises(ValueError, match="no built-in reference skeleton for kit21"):
        joints_to_features(joints, KIT21)
    recovered = features_to_joints(joints_to_features(joints, KIT21, retarget=False))
    np.testing.assert_allclose(recovered, canonical_joints(joints, KIT21, retarget=False)[:-1], atol=1e-3)


# ---------------------------------------------------------------- golden data (../shared/data/humanml3d)


def _sample(humanml3d_dir, sample_id: str) -> tuple[np.ndarray, np.ndarray]:
    samples = humanml3d_dir / "samples"
    joints = np.load(samples / "new_joints" / f"{sample_id}.npy")
    return joints, np.load(samples / "new_joint_vecs" / f"{sample_id}.npy")


def _group_errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    diff = np.abs(a.astype(np.float64) - b)
    return {g: float(HUMANML3D_LAYOUT.get(diff, g).max()) for g in GROUPS}


def test_reference_matches_shared_example(humanml3d_dir):
    example = np.load(humanml3d_dir / "skeleton_example_h3d.npy")
    np.testing.assert_array_equal(HUMANML3D_REFERENCE, example[:22])


@pytest.mark.shared_data
@pytest.mark.parametrize("sample_id", SAMPLE_IDS)
def test_golden_features_to_joints(humanml3d_dir, sample_id):
    joints, vecs = _sample(humanml3d_dir, sample_id)
    assert joints.shape == (len(vecs), 22, 3)  # new_joints = recover_from_ric(new_joint_vecs): same frames
    error = float(np.abs(features_to_joints(vecs) - joints).max())
    print(f"\n{sample_id} features_to_joints max abs error {error:.2e} m")
    assert error <= 1e-4


@pytest.mark.shared_data
@pytest.mark.parametrize("sample_id", SAMPLE_IDS)
def test_golden_joints_to_features(humanml3d_dir, sample_id):
    joints, vecs = _sample(humanml3d_dir, sample_id)
    features = joints_to_features(joints)  # (T-1, 263) vs the first T-1 rows of vecs
    errors = _group_errors(features, vecs[:-1])
    untouched = len(features) - int(4 * FACING_SIGMA)  # frames the missing last frame cannot reach
    head = _group_errors(features[:untouched], vecs[: max(untouched, 0)]) if untouched > 0 else {}
    print(f"\n{sample_id} joints_to_features max abs error per group, all {len(features)} frames: "
          + ", ".join(f"{g} {e:.1e}" for g, e in errors.items()))
    if head:
        print(f"{sample_id} first {untouched} frames: " + ", ".join(f"{g} {e:.1e}" for g, e in head.items()))
    assert errors["root_y"] <= 1e-3
    assert errors["root_lin_vel"] <= 5e-3 and errors["foot_contact"] == 0.0
    assert errors["ric"] <= 2e-2
    if head:
        assert max(head.values()) <= 1e-5


@pytest.mark.shared_data
@pytest.mark.parametrize("sample_id", SAMPLE_IDS)
def test_golden_full_clip_reproduces_every_row(humanml3d_dir, sample_id):
    """Append the original's last frame (from the last row's local_vel) and match all rows of vecs."""
    joints, vecs = _sample(humanml3d_dir, sample_id)
    vecs64 = vecs.astype(np.float64)
    steps = HUMANML3D_LAYOUT.get(vecs64, "root_rot_vel")[:, 0]  # half yaw change per frame
    last_yaw = 2 * steps[:-1].sum()
    last_step = qrot(qinv(yrot_quat(np.array(last_yaw))), HUMANML3D_LAYOUT.get(vecs64, "local_vel")[-1])  # (22, 3)
    full = np.concatenate([joints, (joints[-1] + last_step)[None]])
    errors = _group_errors(joints_to_features(full), vecs)
    print(f"\n{sample_id} full clip max abs error per group: " + ", ".join(f"{g} {e:.1e}" for g, e in errors.items()))
    assert max(errors.values()) <= 1e-5
