"""MotionDir and caption-line parsing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motiongpt.data.layout import (Caption, LayoutError, MotionDir, parse_caption_line, read_captions, read_id_list,
                                   read_text)


def test_parse_caption_line_humanml3d_format() -> None:
    cap = parse_caption_line("a man kicks with his left leg.#a/DET man/NOUN kick/VERB with/ADP his/DET left/ADJ leg/NOUN#1.5#4.0")
    assert cap.text == "a man kicks with his left leg."
    assert cap.tokens[2] == "kick/VERB" and len(cap.tokens) == 7
    assert (cap.start, cap.end) == (1.5, 4.0) and not cap.whole
    assert cap.frame_range(200) == (30, 80)
    assert parse_caption_line(cap.to_line()) == cap


def test_parse_caption_nan_times_mean_whole_motion() -> None:
    cap = parse_caption_line("a person jumps#a/DET person/NOUN jump/VERB#nan#nan")
    assert cap.whole and cap.frame_range(77) == (0, 77)


@pytest.mark.parametrize("line, problem", [
    ("a person jumps#a/DET person/NOUN#0.0", "4 '#'-separated"),
    ("#a/DET#0.0#0.0", "empty caption"),
    ("a person jumps#a person#0.0#0.0", "word/POS"),
    ("a person jumps#a/DET#x#0.0", "not a number"),
    ("a person jumps#a/DET#3.0#1.0", "start 3.0 > end 1.0"),
])
def test_parse_caption_errors_name_location(line: str, problem: str) -> None:
    with pytest.raises(LayoutError, match=problem) as err:
        parse_caption_line(line, "texts/x.txt:3")
    assert "texts/x.txt:3" in str(err.value)


def test_read_captions_reports_line_number(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("ok#ok/INTJ#0.0#0.0\nbroken line\n")
    with pytest.raises(LayoutError, match=r"c.txt:2"):
        read_captions(path)


def test_text_files_missing_or_not_utf8_name_the_file(tmp_path: Path) -> None:
    split = tmp_path / "train.txt"
    split.write_bytes(b"000001\r\n\r\nM000001\n\xff\n")
    with pytest.raises(LayoutError, match=r"train\.txt: not UTF-8 text \(byte 18\)"):
        read_id_list(split)
    split.write_bytes(b"000001\r\n\r\nM000001\n")
    assert read_id_list(split) == ["000001", "M000001"]
    assert read_text(split, "split file") == "000001\r\n\r\nM000001\n"  # line ends untouched (for csv)
    with pytest.raises(LayoutError, match=r"c\.txt: caption file not found"):
        read_captions(tmp_path / "c.txt")
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(LayoutError, match=r"folder\.txt: split file not found"):
        read_id_list(tmp_path / "folder.txt")


def test_motion_dir_reads_and_caches(layout_dir: Path) -> None:
    d = MotionDir(layout_dir)
    assert d.ids("train") == ["000001", "M000001", "000002", "000004"]
    assert set(d.ids("all")) == {"000001", "M000001", "000002", "000004", "000005", "000003"}
    feats = d.features("000002")
    assert feats.shape == (80, 263) and feats.dtype == np.float32
    assert d.features("000002") is feats  # cached
    assert d.joints("000002").shape == (80, 22, 3)
    caps = d.captions("000003")
    assert len(caps) == 2 and all(isinstance(c, Caption) for c in caps)
    assert d.mean.shape == d.std.shape == (263,)


def test_motion_dir_errors_name_file(layout_dir: Path) -> None:
    np.save(layout_dir / "new_joint_vecs" / "bad.npy", np.zeros((10, 100), np.float32))
    d = MotionDir(layout_dir)
    with pytest.raises(LayoutError, match=r"bad\.npy.*\(10, 100\)"):
        d.features("bad")
    with pytest.raises(LayoutError, match=r"nothere\.npy: features file not found"):
        d.features("nothere")
    with pytest.raises(LayoutError, match="not found"):
        MotionDir(layout_dir / "missing")


def test_normalizer_from_mean_std(layout_dir: Path) -> None:
    pytest.importorskip("motiongpt.motion.normalize")
    norm = MotionDir(layout_dir).normalizer
    x = np.full((3, 263), 4.0, np.float32)
    np.testing.assert_allclose(norm.normalize(x), 2.0, rtol=1e-5)
