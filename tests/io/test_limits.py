"""Input limits: checked before any frame is parsed or resampled, raisable by option / environment."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import walking

from motiongpt.io.bvh import BVHError, parse_bvh
from motiongpt.io.export import MotionFileError, load_motion
from motiongpt.io.limits import LimitError, MotionLimits, add_limit_args, applied_limits, current_limits


def _bvh(frames: int, frame_time: float, lines: int | None = None) -> str:
    body = "0 0 0\n" * (frames if lines is None else lines)
    return ("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n"
            f" End Site\n {{\n  OFFSET 0 1 0\n }}\n}}\nMOTION\nFrames: {frames}\nFrame Time: {frame_time}\n{body}")


@pytest.mark.parametrize("fps", [0, -20, "twenty", None, [20], float("inf"), float("nan"), True, 1e-6, 5000])
def test_check_rate_refuses_nonsense(fps: object) -> None:
    with pytest.raises(LimitError, match=r"^x\.json: field 'fps': frame rate"):
        MotionLimits().check_rate(fps, "x.json: field 'fps'")


def test_check_length_and_joint_frames() -> None:
    limits = MotionLimits(max_seconds=10, max_frames=100)
    limits.check_length(100, 20, "ok")
    with pytest.raises(LimitError, match="101 frames is more than the limit of 100"):
        limits.check_length(101, 20, "f")
    with pytest.raises(LimitError, match="last 20 s, more than the limit of 10 s"):
        limits.check_length(40, 2, "f")
    with pytest.raises(LimitError, match="joint-frames"):
        limits.check_joint_frames(100, 33, "f")


def test_bvh_limits_come_before_the_frames_are_read() -> None:
    """The header alone decides: a file declaring 10**9 frames holds three lines here."""
    with pytest.raises(BVHError, match=r"^a\.bvh:12: Frames: 1000000000 frames is more than the limit"):
        parse_bvh(_bvh(10**9, 0.01, lines=3), "a.bvh")
    with pytest.raises(BVHError, match=r"^a\.bvh:12: Frame Time: frame rate 1e-05 is outside"):
        parse_bvh(_bvh(3, 100000), "a.bvh")
    assert parse_bvh(_bvh(2500, 0.01), "a.bvh").motion.shape == (2500, 3)  # chunked parsing, 2 chunks


def test_limits_raised_by_option_and_restored(tmp_path: Path) -> None:
    path = tmp_path / "slow.json"
    path.write_text(json.dumps({"format": "motiongpt-joints", "fps": 1, "frames": walking(700).tolist()}))
    with pytest.raises(MotionFileError, match=r"slow\.json: field 'frames': 700 frames at 1 frames/s last 700 s"):
        load_motion(path)
    parser = argparse.ArgumentParser()
    add_limit_args(parser)
    with applied_limits(parser.parse_args(["--max-seconds", "800"])) as limits:
        assert limits.max_seconds == 800
        assert load_motion(path).shape == (13981, 22, 3)  # resampled to 20 fps
    assert current_limits() == MotionLimits()


def test_json_fps_and_frames_validated(tmp_path: Path) -> None:
    doc = {"format": "motiongpt-joints", "fps": 40, "frames": walking(9).tolist()}
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    assert load_motion(tmp_path / "ok.json").shape == (5, 22, 3)
    (tmp_path / "bool.json").write_text(json.dumps({**doc, "fps": True}))
    with pytest.raises(MotionFileError, match=r"bool\.json: field 'fps': .* got True"):
        load_motion(tmp_path / "bool.json")
    (tmp_path / "ragged.json").write_text(json.dumps({**doc, "frames": [[[0, 1, 2]], [[0, 1]]]}))
    with pytest.raises(MotionFileError, match=r"ragged\.json: field 'frames'"):
        load_motion(tmp_path / "ragged.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(MotionFileError, match=r"deep\.json: JSON nested too deeply"):
        load_motion(tmp_path / "deep.json")


def test_npy_header_checked_before_loading(tmp_path: Path) -> None:
    (tmp_path / "e.npy").write_bytes(b"")
    with pytest.raises(MotionFileError, match=r"e\.npy: empty file"):
        load_motion(tmp_path / "e.npy")
    np.savez(tmp_path / "z.npz", a=walking(4))
    (tmp_path / "z.npz").rename(tmp_path / "z.npy")
    with pytest.raises(MotionFileError, match=r"z\.npy: a zip archive"):
        load_motion(tmp_path / "z.npy")
    long = np.lib.format.open_memmap(tmp_path / "long.npy", mode="w+", dtype=np.float32, shape=(100_000, 22, 3))
    long.flush()  # 26 MB on paper, a sparse file on disk
    with pytest.raises(MotionFileError, match=r"long\.npy: joints: 100000 frames is more than the limit"):
        load_motion(tmp_path / "long.npy")
    np.save(tmp_path / "b.npy", walking(6)[None])  # a batch axis of one is dropped
    assert load_motion(tmp_path / "b.npy").shape == (6, 22, 3)


@pytest.mark.parametrize("name, value, message", [
    ("MOTIONGPT_MAX_SECONDS", "-5", "must be a positive number"),
    ("MOTIONGPT_MAX_SECONDS", "nan", "must be a positive number"),
    ("MOTIONGPT_MAX_FILE_MB", "inf", "must be a positive number"),
    ("MOTIONGPT_MAX_FRAMES", "1.7", "must be a whole number"),
    ("MOTIONGPT_MAX_FPS", "fast", "not a number"),
])
def test_environment_limits_are_range_checked(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                              message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(LimitError, match=f"environment variable {name}: {message}"):
        current_limits()


def test_environment_min_fps_above_max_fps_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIONGPT_MIN_FPS", "200")
    monkeypatch.setenv("MOTIONGPT_MAX_FPS", "100")
    with pytest.raises(LimitError, match="minimum frame rate 200 is above the maximum 100"):
        current_limits()
    monkeypatch.setenv("MOTIONGPT_MAX_FRAMES", "5000")
    monkeypatch.delenv("MOTIONGPT_MIN_FPS")
    assert current_limits().max_frames == 5000
