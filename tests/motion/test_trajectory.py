import math
from dataclasses import astuple

import numpy as np
import pytest

from motiongpt.motion.features import HUMANML3D_LAYOUT as L
from motiongpt.motion.features import features_to_joints, joints_to_features
from motiongpt.motion.skeleton import SMPL22
from motiongpt.motion.trajectory import (STEP_GROUPS, RootOffset, blend_root_to_target, fade_weights, joints_facing,
                                         joints_offset, ramp_weights, root_offset, root_track, seam_jump,
                                         splice_clips)


def _features(frames: int, step: float = 0.05, half_turn: float = 0.0, side: float = 0.0) -> np.ndarray:
    """Root-only features: `step` m forward and `side` m along local x per frame, yaw velocity feature `half_turn`."""
    f = np.zeros((frames, L.dim), np.float32)
    f[:, L.root_rot_vel] = half_turn
    f[:, L.root_lin_vel] = [side, step]
    f[:, L.root_y] = 0.9
    return f


def test_straight_walk_track_and_offset():
    track = root_track(_features(30))
    assert np.allclose(track[:, 1], 0.05 * np.arange(30)) and np.allclose(track[:, [0, 2]], 0.0)
    off = root_offset(track, 4, 24)
    assert astuple(off) == pytest.approx((1.0, 0.0, 0.0), abs=1e-6)


def test_turning_left_is_positive_and_local_x_is_left():
    track = root_track(_features(10, step=0.0, half_turn=-math.radians(5)))  # feature = minus half the yaw change
    assert np.allclose(np.degrees(track[:, 2]), 10.0 * np.arange(10), atol=1e-4)
    assert root_offset(track, 0, 9).turn == pytest.approx(90.0, abs=1e-4)
    side = root_track(_features(11, step=0.0, side=0.1))
    assert astuple(root_offset(side, 0, 10)) == pytest.approx((0.0, 1.0, 0.0), abs=1e-6)
    assert side[10, 0] == pytest.approx(1.0)  # facing +Z, the left is +X


def test_offset_is_seen_from_the_start_heading():
    track = np.array([[0.0, 0.0, math.pi / 2], [2.0, 1.0, math.pi]])  # facing +X, then moved 2 m along +X
    off = root_offset(track, 0, 1)
    assert astuple(off) == pytest.approx((2.0, -1.0, 90.0))


def test_place_inverts_root_offset():
    from motiongpt.motion.trajectory import place

    track = root_track(_features(30, half_turn=-math.radians(3), side=0.02))
    assert np.allclose(place(track[7], root_offset(track, 7, 25)), track[25], atol=1e-6)


def test_ramp_weights_hand_computed():
    assert np.allclose(ramp_weights(2), [0.5, 0.5])
    assert np.allclose(ramp_weights(4), [0.15625, 0.34375, 0.34375, 0.15625])


def test_blend_adds_the_residual_as_a_smooth_ramp():
    f = _features(40)
    a, b = 9, 29  # 20 steps; the walk covers 1.0 m between them
    out = blend_root_to_target(f, a, b, RootOffset(2.0, 0.0, 0.0))
    assert np.array_equal(out[:a], f[:a]) and np.array_equal(out[b:], f[b:])
    assert np.allclose(out[a:b, L.root_lin_vel.start + 1] - 0.05, ramp_weights(20), atol=1e-6)
    assert astuple(root_offset(root_track(out), a, b)) == pytest.approx((2.0, 0.0, 0.0), abs=1e-5)
    jump = np.linalg.norm(np.diff(np.diff(root_track(out)[:, :2], axis=0), axis=0), axis=1)  # (T-2,)
    assert jump[[a - 1, b - 1]] == pytest.approx(ramp_weights(20)[[0, -1]], rel=1e-4)
    assert jump[a - 1] < 0.2 * 1.0 / 20  # a linear ramp would jump by the mean step, 1 m / 20


def test_blend_reaches_a_turned_sideways_target_and_moves_the_end_rigidly():
    f = _features(40, half_turn=-math.radians(1))
    target = RootOffset(0.5, -0.7, -60.0)
    out = blend_root_to_target(f, 5, 30, target)
    track = root_track(out)
    assert astuple(root_offset(track, 5, 30)) == pytest.approx(astuple(target), abs=1e-4)
    before, after = root_track(f), track
    assert np.allclose(np.diff(after[30:, 2]), np.diff(before[30:, 2]), atol=1e-6)
    joints = features_to_joints(out)
    assert np.isfinite(joints).all() and joints.shape == (40, 22, 3)


def test_blend_ignores_an_empty_gap():
    f = _features(10)
    assert np.array_equal(blend_root_to_target(f, 5, 5, RootOffset(1.0, 0.0, 0.0)), f)


def test_joints_facing_and_offset():
    pose = np.zeros((22, 3))
    r_hip, l_hip, r_sdr, l_sdr = SMPL22.face_joints
    pose[[l_hip, l_sdr], 0] = 0.1  # left side at +X: facing +Z
    pose[[r_hip, r_sdr], 0] = -0.1
    assert joints_facing(pose) == pytest.approx(0.0)
    turned = pose[:, [2, 1, 0]] * np.array([1.0, 1.0, -1.0])  # rotated 90 degrees left: left side at -Z
    assert math.degrees(joints_facing(turned)) == pytest.approx(90.0)
    end = turned + np.array([0.0, 0.0, 3.0])
    assert astuple(joints_offset(pose[None], end[None])) == pytest.approx((3.0, 0.0, 90.0))


def test_seam_jump_hand_computed():
    joints = np.zeros((10, 2, 3))
    joints[:, :, 0] = 0.1 * np.arange(10)[:, None]  # 2 m/s, no jump anywhere
    assert seam_jump(joints, 5) == pytest.approx(0.0)
    jumped = joints.copy()
    jumped[5:, 0, 2] += 0.3  # joint 0 jumps 0.3 m between frames 4 and 5
    assert seam_jump(jumped, 5) == pytest.approx(0.5 * 0.3 * 20)
    kinked = joints.copy()
    kinked[5:, :, 0] += 0.1 * np.arange(1, 6)[:, None]  # both joints speed up from 0.1 to 0.2 m/frame at frame 5
    assert seam_jump(kinked, 5) == pytest.approx(0.1 * 20)
    with pytest.raises(ValueError, match="seam"):
        seam_jump(joints, 1)


def test_fade_weights_hand_computed():
    assert np.allclose(fade_weights(2), [[0.5, 0.25], [0.0, 0.0]])
    w = fade_weights(8)
    assert w[-1] == pytest.approx([0.0, 0.0]) and np.all(np.diff(w[:, 0]) < 0)


def _step_mask() -> np.ndarray:
    mask = np.zeros(L.dim, dtype=bool)
    for name in STEP_GROUPS:
        mask[L.slice(name)] = True
    return mask


def test_splice_keeps_the_clips_and_leaves_the_middle_of_the_gap():
    rng = np.random.default_rng(0)
    gen, start, end = (rng.normal(size=(n, L.dim)).astype(np.float32) for n in (40, 10, 8))
    out = splice_clips(gen, start, end, fade=6)
    step = _step_mask()
    assert np.array_equal(out[:10, ~step], start[:, ~step]) and np.array_equal(out[:9, step], start[:9, step])
    assert not np.allclose(out[9, step], start[9, step])  # the clip's last step leads to a frame not given
    assert np.array_equal(out[32:], end)
    assert np.array_equal(out[15:27], gen[15:27])  # 6-frame fades (the 6th weight is 0): rows 10..14 and 27..31
    assert not np.allclose(out[14, ~step], gen[14, ~step]) and not np.allclose(out[27], gen[27])
    assert np.array_equal(splice_clips(gen, start, None, fade=6)[15:], gen[15:])  # prediction: no end clip
    with pytest.raises(ValueError, match="do not fit"):
        splice_clips(gen[:12], start, end)


def test_spliced_real_clips_join_the_gap_smoothly(make_clip):
    real = joints_to_features(make_clip(61))  # (60, 263)
    gen = real.copy()  # a "generation" with a pose error, a faster walk and a drift in heading
    gen[:, L.ric] += 0.05
    gen[:, L.root_lin_vel] *= 1.3
    gen[:, L.root_rot_vel] += 0.01
    g, e = 12, 48
    target = root_offset(root_track(real), g - 1, e)
    jumps = {}
    for fade in (0, 8):
        out = blend_root_to_target(splice_clips(gen, real[:g], real[e:], fade), g - 1, e, target)
        joints, truth = features_to_joints(out), features_to_joints(real)
        assert np.allclose(joints[:g], truth[:g], atol=1e-5) and np.allclose(joints[e:], truth[e:], atol=1e-4)
        jumps[fade] = [seam_jump(joints, s) for s in (g, e)]
    real_jumps = [seam_jump(features_to_joints(real), s) for s in (g, e)]
    assert min(jumps[0]) > 5 * max(real_jumps)  # pasting the clips without a fade jumps
    assert max(jumps[8]) < 1.5 * max(real_jumps)
