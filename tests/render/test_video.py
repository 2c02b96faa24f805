"""Skeleton videos and strips: files are valid (read back with imageio), side by side, gif fallback, errors."""
from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from synthetic import walking

from motiongpt.motion.skeleton import SMPL22
from motiongpt.render import video
from motiongpt.render.video import (
    LEFT_COLOUR,
    RIGHT_COLOUR,
    RenderError,
    chain_colour,
    pad_to_length,
    render_strip,
    render_video,
    strip_frames,
    to_plot_coords,
)


def test_mp4_has_every_frame_and_even_size(tmp_path: Path) -> None:
    info = render_video([walking(12)], tmp_path / "a.mp4", captions=["a person walks forward"])
    assert info.path == tmp_path / "a.mp4" and info.frames == 12
    frames = list(iio.imiter(info.path))
    assert len(frames) == 12
    assert frames[0].shape == (480, 480, 3)
    assert not list(tmp_path.glob(".*")), "temporary file left behind"


def test_side_by_side_pads_shorter_motion(tmp_path: Path) -> None:
    info = render_video([walking(10), walking(4)], tmp_path / "b.mp4", captions=["long", "short"])
    frames = list(iio.imiter(info.path))
    assert len(frames) == 10 and frames[0].shape == (480, 960, 3)
    right = [f[:, 480:].astype(int) for f in frames]
    assert np.abs(right[-1] - right[-2]).mean() < np.abs(right[1] - right[0]).mean() + 1.0


def test_gif_when_asked_or_ffmpeg_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = render_video(walking(5), tmp_path / "c.gif")
    assert info.path.suffix == ".gif" and len(list(iio.imiter(info.path))) == 5
    monkeypatch.setattr(video, "ffmpeg_available", lambda: False)
    info = render_video(walking(5), tmp_path / "d.mp4")
    assert info.path == tmp_path / "d.gif" and info.path.exists() and not (tmp_path / "d.mp4").exists()


def test_frames_move(tmp_path: Path) -> None:
    info = render_video(walking(8), tmp_path / "e.mp4")
    frames = list(iio.imiter(info.path))
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0


def test_strip_png(tmp_path: Path) -> None:
    path = render_strip(walking(30), tmp_path / "s.png", n=4, caption="a walk")
    image = iio.imread(path)
    assert image.shape[:2] == (480, 4 * 480)


def test_strip_frames_cover_motion() -> None:
    assert strip_frames(30, 4).tolist() == [0, 10, 19, 29]
    assert strip_frames(3, 8).tolist() == [0, 1, 2]


def test_left_chains_blue_right_red() -> None:
    left = [c for c in SMPL22.kinematic_chains if SMPL22.joint("left_wrist") in c][0]
    right = [c for c in SMPL22.kinematic_chains if SMPL22.joint("right_ankle") in c][0]
    assert chain_colour(SMPL22, left) == LEFT_COLOUR and chain_colour(SMPL22, right) == RIGHT_COLOUR


def test_plot_coords_are_a_rotation() -> None:
    basis = to_plot_coords(np.eye(3))
    assert np.isclose(np.linalg.det(basis), 1.0)
    assert to_plot_coords(np.array([0.0, 1.0, 0.0])).tolist() == [0.0, 0.0, 1.0]  # Y up -> plot Z up


def test_pad_to_length_repeats_last_frame() -> None:
    m = walking(3)
    padded = pad_to_length(m, 5)
    assert padded.shape == (5, 22, 3) and np.array_equal(padded[4], m[2])


@pytest.mark.parametrize(
    "bad, message",
    [(np.zeros((5, 20, 3)), "20 joints"), (np.zeros((0, 22, 3)), "no frames"), (np.zeros((5, 22)), "(T, J, 3)"),
     (np.full((2, 22, 3), np.nan), "NaN")],
)
def test_bad_motion_errors(tmp_path: Path, bad: np.ndarray, message: str) -> None:
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_video([bad], tmp_path / "x.mp4")


def test_bad_paths_and_captions(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"\.mp4 or \.gif"):
        render_video(walking(3), tmp_path / "x.avi")
    with pytest.raises(RenderError, match="2 captions for 1"):
        render_video(walking(3), tmp_path / "x.mp4", captions=["a", "b"])
    with pytest.raises(RenderError, match=r"\.png"):
        render_strip(walking(3), tmp_path / "x.jpg")


def test_unfinished_mp4_is_an_error(tmp_path: Path) -> None:
    """What a full disk leaves (an mp4 cut short, no index) is refused before the rename."""
    good = render_video([walking(20)], tmp_path / "good.mp4").path
    video.check_encoded(good, good, 20)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:4096])
    with pytest.raises(RenderError, match=r"cut\.mp4: the encoder did not finish the video"):
        video.check_encoded(cut, cut, 20)
    with pytest.raises(RenderError, match=r"good\.mp4: the encoder wrote 20 of 25 frames"):
        video.check_encoded(good, good, 25)
