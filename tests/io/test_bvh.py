"""Tests for motiongpt.io.bvh: parsing, forward kinematics, error reporting, the SMPL-22 writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motiongpt.io.bvh import BVHError, parse_bvh, read_bvh, write_bvh
from motiongpt.motion.rotation import forward_kinematics
from motiongpt.motion.skeleton import SMPL22

TINY = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT hand
    {
      OFFSET 0 2 0
      CHANNELS 6 Zrotation Xposition Yposition Zposition Xrotation Yrotation
      End Site
      {
        OFFSET 0 0 3
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
1 2 3 0 0 0 0 0 0 0 0 2 0 0 0
10 0 0 90 0 0 0 90 0 30 0 2 0 45 0
"""


def _write(tmp_path: Path, text: str, name: str = "m.bvh") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _smpl_from_bvh(path: Path) -> np.ndarray:
    """FK of a written SMPL-22 file, in SMPL22 joint order, metres: (T, 22, 3)."""
    motion = read_bvh(path)
    positions = motion.global_positions() / 100.0
    return positions[:, [motion.joint_names.index(n) for n in SMPL22.joint_names]]


def test_parse_tiny_hierarchy(tmp_path: Path) -> None:
    m = read_bvh(_write(tmp_path, TINY))
    assert m.joint_names == ["root", "arm", "hand"]
    assert m.parents.tolist() == [-1, 0, 1]
    assert m.channels[2][0] == "Zrotation" and len(m.channels[2]) == 6
    assert m.frame_time == pytest.approx(0.04) and m.fps == pytest.approx(25.0)
    assert m.motion.shape == (2, 15)
    assert m.end_site_names == ["hand_end"]


def test_forward_kinematics_matches_scipy(tmp_path: Path) -> None:
    m = read_bvh(_write(tmp_path, TINY))
    pos = m.global_positions(include_end_sites=True)  # (2, 4, 3)
    assert pos.shape == (2, 4, 3)
    # Frame 0: no rotation; hand's position channels (0, 2, 0) replace its OFFSET.
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [2, 2, 3], [2, 4, 3], [2, 4, 6]], atol=1e-12)
    # Frame 1, by hand with scipy (upper-case order = intrinsic = R1 @ R2 @ R3).
    r_root = Rotation.from_euler("ZYX", [90, 0, 0], degrees=True)
    r_arm = r_root * Rotation.from_euler("XYZ", [0, 90, 0], degrees=True)
    r_hand = r_arm * Rotation.from_euler("ZXY", [30, 45, 0], degrees=True)
    root = np.array([10.0, 0, 0])
    arm = root + r_root.apply([1, 0, 0])
    hand = arm + r_arm.apply([0, 2, 0])
    end = hand + r_hand.apply([0, 0, 3])
    np.testing.assert_allclose(pos[1], np.stack([root, arm, hand, end]), atol=1e-12)


def test_forward_kinematics_is_vectorised_over_frames() -> None:
    parents = np.array([-1, 0])
    local_r = Rotation.random(6, random_state=0).as_matrix().reshape(3, 2, 3, 3)
    local_t = np.ones((3, 2, 3))
    global_r, global_p = forward_kinematics(parents, local_r, local_t)
    for t in range(3):
        np.testing.assert_allclose(global_p[t, 1], local_t[t, 0] + local_r[t, 0] @ local_t[t, 1])
        np.testing.assert_allclose(global_r[t, 1], local_r[t, 0] @ local_r[t, 1])


BAD_FILES = {
    "truncated": (TINY[: TINY.index("    JOINT hand")], "end of file"),
    "wrong_channel_count": (TINY.replace("CHANNELS 3 Xrotation", "CHANNELS 4 Xrotation"), "declares 4 channels"),
    "non_numeric_offset": (TINY.replace("OFFSET 1 0 0", "OFFSET 1 zero 0"), "expected a number"),
    "non_numeric_value": (TINY.replace("10 0 0 90", "10 0 abc 90"), "non-numeric value 'abc'"),
    "empty_motion": (TINY[: TINY.index("Frames:")] + "Frames: 0\nFrame Time: 0.04\n", "empty motion"),
    "missing_motion": (TINY[: TINY.index("MOTION")], "no MOTION section"),
    "missing_frames": (TINY.replace("Frames: 2\n", ""), "'Frames:'"),
    "missing_frame_time": (TINY.replace("Frame Time: 0.04\n", ""), "'Frame Time:'"),
    "short_frame_line": (TINY.replace("1 2 3 0 0 0 0 0 0 0 0 2 0 0 0", "1 2 3 0 0 0"), "has 6 values"),
    "missing_frame_lines": (TINY.replace("Frames: 2", "Frames: 3"), "declares 3 frames"),
    "bad_frame_time": (TINY.replace("Frame Time: 0.04", "Frame Time: fast"), "frame time"),
}
BAD_LINES = {"wrong_channel_count": 9, "non_numeric_offset": 8, "non_numeric_value": 25, "missing_frames": 22,
             "short_frame_line": 24, "empty_motion": 22, "bad_frame_time": 23}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_bvh_error_with_file_and_line(tmp_path: Path, case: str) -> None:
    text, fragment = BAD_FILES[case]
    path = _write(tmp_path, text, f"{case}.bvh")
    with pytest.raises(BVHError) as info:
        read_bvh(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"{path}:"), message
    assert fragment in message, message
    assert info.value.line is not None
    if case in BAD_LINES:
        assert info.value.line == BAD_LINES[case], message


def _rigid_smpl_motion(num_frames: int = 40, seed: int = 0) -> np.ndarray:
    """SMPL-22 joints (T, 22, 3) metres from smooth random local rotations of a constant-length skeleton."""
    rng = np.random.default_rng(seed)
    offsets = SMPL22.raw_offsets * rng.uniform(0.08, 0.4, size=(22, 1))
    offsets[SMPL22.joint("left_hip")] = [0.06, -0.08, -0.01]  # realistic, non-axis-aligned pelvis group
    offsets[SMPL22.joint("right_hip")] = [-0.06, -0.08, 0.0]
    offsets[SMPL22.joint("spine1")] = [0.0, 0.12, -0.05]
    t = np.linspace(0, 1, num_frames)[:, None, None]
    rotvec = np.sin(2 * np.pi * (t * rng.uniform(0.5, 2, (1, 22, 3)) + rng.uniform(0, 1, (1, 22, 3))))
    local_r = Rotation.from_rotvec((0.6 * rotvec).reshape(-1, 3)).as_matrix().reshape(num_frames, 22, 3, 3)
    local_t = np.broadcast_to(offsets, (num_frames, 22, 3)).copy()
    local_t[:, 0] = np.c_[np.sin(t[:, 0, 0]), 0.9 + 0 * t[:, 0, 0], 2 * t[:, 0, 0]]
    return forward_kinematics(SMPL22.parents, local_r, local_t)[1]


@pytest.mark.parametrize("order", ["auto", "ZXY", "ZYX"])
def test_write_round_trip_rigid_motion(tmp_path: Path, order: str) -> None:
    joints = _rigid_smpl_motion()
    path = write_bvh(tmp_path / "out.bvh", joints, fps=20, euler_order=order)
    back = _smpl_from_bvh(path)
    assert np.linalg.norm(back - joints, axis=-1).max() < 1e-3  # 1 mm
    assert read_bvh(path).fps == pytest.approx(20.0)


def test_write_round_trip_humanml3d_sample(tmp_path: Path, humanml3d_dir: Path) -> None:
    sample = sorted((humanml3d_dir / "samples" / "new_joints").glob("*.npy"))[0]
    joints = np.load(sample)
    back = _smpl_from_bvh(write_bvh(tmp_path / "h3d.bvh", joints))
    assert back.shape == joints.shape
    assert np.linalg.norm(back - joints, axis=-1).max() < 1e-3


def test_exact_positions_for_non_rigid_motion(tmp_path: Path) -> None:
    joints = _rigid_smpl_motion(seed=1)
    joints = joints + np.random.default_rng(2).normal(scale=0.01, size=joints.shape)  # bones stretch by ~cm
    default = np.linalg.norm(_smpl_from_bvh(write_bvh(tmp_path / "a.bvh", joints)) - joints, axis=-1).max()
    exact_path = write_bvh(tmp_path / "b.bvh", joints, exact_positions=True)
    exact = np.linalg.norm(_smpl_from_bvh(exact_path) - joints, axis=-1).max()
    assert exact < 1e-4 < 2e-3 < default
    assert all(len(c) == 6 for c in read_bvh(exact_path).channels)


def test_euler_angles_are_continuous(tmp_path: Path) -> None:
    joints = _rigid_smpl_motion(num_frames=60)
    turns = np.linspace(0, 720, 60)  # two full turns about Y, 12 deg per frame
    spin = Rotation.from_euler("y", turns[:, None], degrees=True).as_matrix()
    plain = read_bvh(write_bvh(tmp_path / "plain.bvh", joints))
    spun = read_bvh(write_bvh(tmp_path / "spin.bvh", np.einsum("tab,tjb->tja", spin, joints)))
    rotations = np.concatenate([spun.motion[:, s][:, -3:] for s in spun.channel_slices()], axis=1)
    assert np.abs(np.diff(rotations, axis=0)).max() < 60.0  # no 360 deg wraps or Euler branch flips
    heading = spun.channels[0].index("Yrotation")  # root order YXZ: heading adds up exactly
    extra = spun.motion[:, heading] - plain.motion[:, heading]
    np.testing.assert_allclose(extra - extra[0], turns, atol=1e-3)


def test_pypi_bvh_parser_reads_written_file(tmp_path: Path) -> None:
    from bvh import Bvh

    joints = _rigid_smpl_motion(num_frames=12)
    path = write_bvh(tmp_path / "x.bvh", joints, fps=20)
    ours = read_bvh(path)
    theirs = Bvh(path.read_text())
    assert theirs.get_joints_names() == ours.joint_names
    assert sorted(theirs.get_joints_names()) == sorted(SMPL22.joint_names)
    assert theirs.nframes == 12
    assert theirs.frame_time == pytest.approx(0.05)
    for j, name in enumerate(ours.joint_names):
        channels = theirs.joint_channels(name)
        assert tuple(channels) == ours.channels[j]
        values = np.array(theirs.frames_joint_channels(name, channels), dtype=np.float64)
        np.testing.assert_allclose(values, ours.motion[:, ours.channel_slices()[j]])


@pytest.mark.parametrize("shape", [(5, 21, 3), (22, 3), (0, 22, 3)])
def test_write_rejects_bad_shapes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="22|empty"):
        write_bvh(tmp_path / "bad.bvh", np.zeros(shape))
    assert not (tmp_path / "bad.bvh").exists()


def test_parse_bvh_names_source() -> None:
    with pytest.raises(BVHError, match="^clip.bvh:"):
        parse_bvh("HIERARCHY\nROOT a\n{\n", source="clip.bvh")
