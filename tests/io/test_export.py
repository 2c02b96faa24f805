"""Export round trips (npy, JSON, BVH when the BVH writer exists) and load_motion's errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import rest_pose

from motiongpt.io.export import (
    MotionFileError,
    load_motion,
    save_bvh,
    save_features_npy,
    save_joints_npy,
    save_motion_json,
)
from motiongpt.motion.skeleton import SMPL22


def walking(frames: int = 12) -> np.ndarray:
    """A small rigid synthetic SMPL-22 motion (T, 22, 3): the rest pose turning about Y while moving along +Z."""
    rest = rest_pose()
    angle = 0.05 * np.arange(frames)  # (T,) radians
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    joints = np.repeat(rest[None], frames, axis=0)
    x, z = joints[..., 0].copy(), joints[..., 2].copy()
    joints[..., 0], joints[..., 2] = cos * x + sin * z, -sin * x + cos * z + 0.05 * np.arange(frames)[:, None]
    return joints.astype(np.float32)


def test_joints_npy_round_trip(tmp_path: Path) -> None:
    joints = walking()
    path = save_joints_npy(tmp_path / "m_joints.npy", joints)
    assert np.array_equal(load_motion(path), joints)
    assert not list(tmp_path.glob(".*")), "temporary file left behind"


def test_batch_axis_of_one_is_dropped(tmp_path: Path) -> None:
    np.save(tmp_path / "b.npy", walking()[None])
    assert load_motion(tmp_path / "b.npy").shape == (12, 22, 3)


def test_json_round_trip_and_fields(tmp_path: Path) -> None:
    joints = walking()
    path = save_motion_json(tmp_path / "m.json", joints, caption="a walk")
    doc = json.loads(path.read_text())
    assert doc["fps"] == 20 and doc["units"] == "metres" and doc["num_frames"] == 12
    assert doc["joint_names"] == list(SMPL22.joint_names) and doc["parents"][0] == -1
    assert np.asarray(doc["frames"]).shape == (12, 22, 3) and doc["caption"] == "a walk"
    assert np.allclose(load_motion(path), joints, atol=1e-4)


def test_features_npy_saved_and_checked(tmp_path: Path) -> None:
    features = np.random.default_rng(0).normal(size=(9, 263)).astype(np.float32)
    path = save_features_npy(tmp_path / "f.npy", features)
    assert np.array_equal(np.load(path), features)
    with pytest.raises(MotionFileError, match=r"\(T, 263\) or \(T, 251\), got \(9, 200\)"):
        save_features_npy(tmp_path / "g.npy", np.zeros((9, 200)))


def test_features_npy_loads_as_joints(tmp_path: Path) -> None:
    features_mod = pytest.importorskip("motiongpt.motion.features", reason="motion.features not written yet")
    joints = walking(20).astype(np.float64)
    features = features_mod.joints_to_features(joints)  # (T-1, 263)
    np.save(tmp_path / "f.npy", features)
    loaded = load_motion(tmp_path / "f.npy")
    assert loaded.shape == (features.shape[0], 22, 3)
    expected = np.asarray(features_mod.features_to_joints(features.astype(np.float32)))
    assert np.allclose(loaded, expected, atol=1e-5)


def test_bvh_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("motiongpt.io.bvh", reason="io.bvh not written yet")
    pytest.importorskip("motiongpt.io.retarget", reason="io.retarget not written yet")
    joints = walking(20)
    path = save_bvh(tmp_path / "m.bvh", joints)
    loaded = load_motion(path)
    assert loaded.shape == joints.shape
    assert np.abs(loaded - joints).max() < 0.002  # metres: a rigid motion survives BVH (IK + FK)


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("j.npy", np.zeros((5, 20, 3)), r"j\.npy: expected joints \(T, 22, 3\) .* got shape \(5, 20, 3\)"),
        ("f.npy", np.zeros((5, 100)), r"f\.npy: expected joints .* features \(T, 263\) .* got shape \(5, 100\)"),
        ("v.npy", np.zeros(5), r"v\.npy: expected joints .* got shape \(5,\)"),
        ("n.npy", np.full((3, 22, 3), np.nan), r"n\.npy: joints: contains NaN"),
        ("e.npy", np.zeros((0, 22, 3)), r"e\.npy: joints: no frames"),
        ("z.npy", np.zeros((5, 22, 3)), r"z\.npy: joints: frame 0 is degenerate"),
        ("u.npy", np.ones((5, 22, 3), np.uint8), r"u\.npy: array: dtype uint8 holds unsigned integers"),
        ("c.npy", np.ones((5, 22, 3), np.complex64), r"c\.npy: array: dtype complex64 holds complex numbers"),
        ("h.npy", np.full((5, 22, 3), 1e30), r"h\.npy: joints: a value of 1e\+30 is beyond"),
        ("zf.npy", np.zeros((5, 263), np.float32), r"zf\.npy: features \(decoded to joints\): frame 0 is degenerate"),
    ],
)
def test_load_motion_shape_errors_name_file(tmp_path: Path, name: str, array: np.ndarray, message: str) -> None:
    np.save(tmp_path / name, array)
    with pytest.raises(MotionFileError, match=message):
        load_motion(tmp_path / name)


def test_load_motion_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError, match="no such file"):
        load_motion(tmp_path / "missing.npy")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(MotionFileError, match=r"unsupported motion file type \.txt"):
        load_motion(tmp_path / "x.txt")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(MotionFileError, match=r"bad\.npy: not a readable \.npy"):
        load_motion(tmp_path / "bad.npy")
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    with pytest.raises(MotionFileError, match="not a motiongpt-joints JSON"):
        load_motion(tmp_path / "bad.json")
    with pytest.raises(MotionFileError, match="not a file"):
        load_motion(tmp_path)


def test_bvh_export_needs_smpl22(tmp_path: Path) -> None:
    with pytest.raises(MotionFileError, match="SMPL-22"):
        save_bvh(tmp_path / "k.bvh", 1000 * np.random.default_rng(0).normal(size=(4, 21, 3)))
