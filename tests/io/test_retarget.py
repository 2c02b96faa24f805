"""Tests for motiongpt.io.retarget: resampling, CMU/Bandai retargeting to SMPL-22, and the BVH round trip."""
from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from motiongpt.io.bvh import BVHError, read_bvh, write_bvh
from motiongpt.io.retarget import BANDAI_RIG, CMU_RIG, bvh_to_smpl22, detect_rig, resample
from motiongpt.motion.skeleton import SMPL22

BANDAI_MEMBER = "dataset/Bandai-Namco-Research-Motiondataset-1/data/dataset-1_run_masculinity_001.bvh"  # early, 76 kB


@pytest.fixture(scope="session")
def bandai_bvh(bandai_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small Bandai clip extracted from the shared tar (only that member is decompressed)."""
    out = tmp_path_factory.mktemp("bandai")
    with tarfile.open(bandai_tar, "r:xz") as tar:
        for member in tar:
            if member.name == BANDAI_MEMBER:
                target = out / Path(member.name).name
                target.write_bytes(tar.extractfile(member).read())
                return target
    pytest.skip(f"{BANDAI_MEMBER} not found in {bandai_tar}")


def test_resample_linear_is_exact_for_linear_signals() -> None:
    t = np.arange(31) / 30.0
    x = np.stack([t, 2 * t + 1], axis=-1)[:, None, :]  # (31, 1, 2)
    y = resample(x, 30.0, 20.0)
    assert y.shape == (21, 1, 2)
    np.testing.assert_allclose(y[:, 0, 0], np.arange(21) / 20.0, atol=1e-12)
    np.testing.assert_allclose(y[:, 0, 1], 2 * np.arange(21) / 20.0 + 1, atol=1e-12)
    assert resample(np.zeros((121, 22, 3)), 120.0, 20.0).shape == (21, 22, 3)
    assert resample(np.zeros((7, 3)), 20.0, 20.0).shape == (7, 3)


@pytest.mark.parametrize("fps", [0.0, -20.0])
def test_resample_rejects_bad_rates(fps: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros((4, 3)), fps, 20.0)


def _check_anatomy(joints: np.ndarray) -> None:
    """Metres, Y up, and SMPL left on the subject's anatomical left (right-handed: left = up x forward).

    The clips used move forwards, so the pelvis displacement over one second gives the forward direction.
    """
    j = SMPL22.joint
    assert joints.dtype == np.float32 and joints.shape[1:] == (22, 3)
    leg = (np.linalg.norm(joints[:, j("left_knee")] - joints[:, j("left_hip")], axis=-1)
           + np.linalg.norm(joints[:, j("left_ankle")] - joints[:, j("left_knee")], axis=-1))
    assert 0.7 < np.median(leg) < 1.0, f"hip-to-ankle {np.median(leg):.3f} m: wrong unit?"
    assert 1.4 < np.median(leg) / 0.49 < 2.0  # stature from the leg/stature ratio
    assert np.median(joints[:, j("head"), 1] - joints[:, j("pelvis"), 1]) > 0.3
    assert np.median(joints[:, j("pelvis"), 1] - joints[:, j("left_ankle"), 1]) > 0.5
    travel = (joints[20:, j("pelvis")] - joints[:-20, j("pelvis")]) * np.array([1, 0, 1])  # over 1 s at 20 fps
    moving = np.linalg.norm(travel, axis=-1) > 0.3
    assert moving.mean() > 0.5, "test clip should travel forwards"
    forward = travel[moving] / np.linalg.norm(travel[moving], axis=-1, keepdims=True)
    anatomical_left = np.cross([0.0, 1.0, 0.0], forward)
    hips = (joints[10:-10, j("left_hip")] - joints[10:-10, j("right_hip")])[moving]  # mid-window frames
    cosine = np.sum(hips * anatomical_left, axis=-1) / np.linalg.norm(hips, axis=-1)
    assert np.mean(cosine > 0) > 0.8 and np.median(cosine) > 0.7  # a mirrored skeleton gives negatives


def test_bandai_retarget(bandai_bvh: Path) -> None:
    motion = read_bvh(bandai_bvh)
    assert detect_rig(motion) is BANDAI_RIG and motion.fps == pytest.approx(30.0, rel=1e-4)
    joints = bvh_to_smpl22(motion)
    assert len(joints) == int(np.floor((motion.num_frames - 1) * 20 / 30 + 1e-6)) + 1
    _check_anatomy(joints)
    # At the source rate, SMPL joints sit on the same-named source joints (metres = cm / 100).
    native = bvh_to_smpl22(motion, fps=motion.fps)
    source = motion.global_positions() / 100.0
    for smpl, name in [("left_hip", "UpperLeg_L"), ("right_hip", "UpperLeg_R"), ("left_wrist", "Hand_L")]:
        np.testing.assert_allclose(native[:, SMPL22.joint(smpl)], source[:, motion.joint_index(name)], atol=1e-5)


def test_bandai_retarget_keeps_bones_rigid_and_round_trips(bandai_bvh: Path, tmp_path: Path) -> None:
    joints = bvh_to_smpl22(bandai_bvh)
    bones = np.linalg.norm(joints[:, 1:] - joints[:, SMPL22.parents[1:]], axis=-1)  # (T, 21)
    assert (bones.max(0) - bones.min(0)).max() < 1e-4  # slerp resampling: no bone shrinks between frames
    written = read_bvh(write_bvh(tmp_path / "bandai_smpl.bvh", joints, fps=20))
    back = written.global_positions()[:, [written.joint_names.index(n) for n in SMPL22.joint_names]] / 100.0
    assert np.linalg.norm(back - joints, axis=-1).max() < 1e-3  # 1 mm


def test_cmu_retarget(cmu_dir: Path) -> None:
    motion = read_bvh(cmu_dir / "131_01.bvh")
    assert detect_rig(motion) is CMU_RIG and motion.fps == pytest.approx(120.0, rel=1e-4)
    joints = bvh_to_smpl22(motion)
    assert len(joints) == int(np.floor((motion.num_frames - 1) * 20 / 120 + 1e-6)) + 1
    _check_anatomy(joints)
    native = bvh_to_smpl22(motion, fps=motion.fps)
    source = motion.global_positions() * CMU_RIG.metres_per_unit
    np.testing.assert_allclose(native[:, SMPL22.joint("left_knee")], source[:, motion.joint_index("LeftKnee")], atol=1e-5)


def test_unknown_skeleton_lists_expected_joints(tmp_path: Path) -> None:
    path = tmp_path / "robot.bvh"
    path.write_text("HIERARCHY\nROOT base\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n"
                    " End Site\n {\n OFFSET 0 1 0\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.05\n0 0 0\n")
    with pytest.raises(BVHError, match="unknown skeleton") as info:
        bvh_to_smpl22(path)
    message = str(info.value)
    assert str(path) in message and "UpperLeg_L" in message and "LeftHip" in message and "base" in message


def test_written_smpl22_file_reads_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rest = np.zeros((1, 22, 3))  # a static, slightly irregular pose gliding forwards
    for j in range(1, 22):
        rest[0, j] = rest[0, SMPL22.parents[j]] + SMPL22.raw_offsets[j] * 0.1 + rng.normal(scale=0.01, size=3)
    joints = np.repeat(rest, 30, axis=0) + np.linspace(0, 1, 30)[:, None, None] * np.array([0.0, 0.0, 1.0])
    path = write_bvh(tmp_path / "s.bvh", joints, fps=30)
    assert detect_rig(read_bvh(path)).name == "smpl22"
    back = bvh_to_smpl22(path, fps=30)
    np.testing.assert_allclose(back, joints, atol=1e-3)
    assert len(bvh_to_smpl22(path)) == 20  # 30 -> 20 fps
