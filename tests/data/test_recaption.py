"""`motiongpt data recaption`: captions rewritten from the manifest's labels, mirrors swapped, deterministic."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motiongpt.data.captions import CAPTIONS_PER_MOTION, swap_left_right
from motiongpt.data.layout import MotionDir, read_captions
from motiongpt.data.recaption import main, recaption

CLIPS = {"000000": "dataset-1_kick_normal_001", "000001": "dataset-2_wave-left-hand_elderly_002",
         "000002": "dataset-1_walk_tired_003"}


def make_bandai_like(root: Path) -> Path:
    """Three motions and their mirrors, a manifest naming their takes, placeholder captions."""
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    for mid in CLIPS:
        joints = np.zeros((60, 22, 3), np.float32)
        joints[:, 11, 1] = np.sin(np.linspace(0, np.pi, 60))  # the right foot kicks up
        for out_id, j in ((mid, joints), (f"M{mid}", joints[:, [*range(10), 11, 10, *range(12, 22)]])):
            np.save(root / "new_joint_vecs" / f"{out_id}.npy", np.zeros((60, 263), np.float32))
            np.save(root / "new_joints" / f"{out_id}.npy", j)
            (root / "texts" / f"{out_id}.txt").write_text("a person moves#a/DET person/NOUN move/VERB#0.0#0.0\n")
    (root / "train.txt").write_text("".join(f"{m}\nM{m}\n" for m in CLIPS))
    manifest = {"motions": {mid: {"clip": clip, "split": "train"} for mid, clip in CLIPS.items()}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_recaption_rewrites_every_file(tmp_path: Path) -> None:
    root = make_bandai_like(tmp_path / "ds")
    report = recaption(root)
    assert (report.motions, report.files, report.sided) == (3, 6, 1)
    data = MotionDir(root)
    for mid in CLIPS:
        caps, mirrored = data.captions(mid), data.captions(f"M{mid}")
        assert CAPTIONS_PER_MOTION[0] <= len(caps) <= CAPTIONS_PER_MOTION[1]
        assert [swap_left_right(c.text) for c in caps] == [c.text for c in mirrored]
        assert all(c.whole and c.tokens for c in caps)
    assert any("right" in c.text for c in data.captions("000000"))  # the side read from the joints
    assert not any("left" in c.text for c in data.captions("000000"))
    assert all("left" in c.text and "right" not in c.text for c in data.captions("000001"))
    assert all("right" in c.text and "left" not in c.text for c in data.captions("M000001"))  # mirrored
    assert json.loads((root / "manifest.json").read_text())["captions"]["sided_motions"] == 1


def test_recaption_is_deterministic(tmp_path: Path) -> None:
    root = make_bandai_like(tmp_path / "ds")
    recaption(root)
    first = {p.name: p.read_bytes() for p in (root / "texts").iterdir()}
    recaption(root)
    assert first == {p.name: p.read_bytes() for p in (root / "texts").iterdir()}
    assert read_captions(root / "texts" / "000002.txt")[0].text != "a person moves"


def test_recaption_cli_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_bandai_like(tmp_path / "ds")
    (root / "manifest.json").write_text(json.dumps({"motions": {}}))
    assert main([str(root)]) == 1
    err = capsys.readouterr().err.strip()
    assert "manifest.json" in err and "'motions'" in err and len(err.splitlines()) == 1
