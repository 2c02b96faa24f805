"""Shared build pipeline: segmentation, split invariants, custom BVH + CSV build, Bandai build from the tar."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from motiongpt.data.bandai import TakeLabel, build_bandai, main as bandai_main
from motiongpt.data.build import assign_splits, segment_bounds
from motiongpt.data.check import check_dir
from motiongpt.data.custom import main as custom_main, read_caption_csv
from motiongpt.data.layout import MotionDir, original_id


@pytest.mark.parametrize("frames", [41, 100, 197, 198, 400, 1000, 1234])
def test_segment_bounds_cover_evenly(frames: int) -> None:
    bounds = segment_bounds(frames)
    assert bounds[0][0] == 0 and bounds[-1][1] == frames
    assert all(b0[1] == b1[0] for b0, b1 in zip(bounds, bounds[1:]))
    lengths = [b - a - 1 for a, b in bounds]  # feature frames
    assert all(40 <= n <= 196 for n in lengths) and max(lengths) - min(lengths) <= 1


def test_segment_bounds_drop_short() -> None:
    assert segment_bounds(40) == [] and segment_bounds(41) == [(0, 41)]


def test_split_is_stratified_deterministic_and_by_take() -> None:
    strata = {f"dataset-2_walk_{s}_{i:03d}": f"walk/{s}" for s in ("normal", "elderly") for i in range(40)}
    strata |= {f"dataset-1_bow_{s}_001": "bow" for s in ("a", "b", "c")}
    strata["dataset-1_kick_normal_001"] = "kick"
    splits = assign_splits(strata)
    assert splits == assign_splits(dict(reversed(list(strata.items()))))
    per_group: dict[str, list[str]] = defaultdict(list)
    for take, split in splits.items():
        per_group[strata[take]].append(split)
    assert all("test" in v for g, v in per_group.items() if g != "kick")  # every content with >= 2 takes in test
    assert per_group["kick"] == ["train"]  # a single take is learnt, not only tested
    walk = per_group["walk/normal"]
    assert walk.count("test") == 6 and walk.count("val") == 2 and walk.count("train") == 32


def test_take_label_parse() -> None:
    label = TakeLabel.parse("dataset-1_walk-left_not-confident_002")
    assert (label.content, label.style, label.take) == ("walk-left", "not-confident", "002")
    assert label.stratum == "dataset-1/walk-left"
    with pytest.raises(ValueError, match="not a Bandai take name"):
        TakeLabel.parse("walk_01")


def test_caption_csv_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("file,caption,start,end\na.bvh,a person jumps,2,1\n")
    with pytest.raises(ValueError, match=r"c.csv:2: start 2.0 >= end 1.0"):
        read_caption_csv(path)
    path.write_text("name,text\n")
    with pytest.raises(ValueError, match="missing column"):
        read_caption_csv(path)


def _assert_consistent_build(root: Path) -> None:
    """Invariants of a built directory: check passes, joints = features_to_joints(features), twins together."""
    from motiongpt.motion.features import features_to_joints

    assert [p for p in check_dir(root) if p.severity == "error"] == []
    data = MotionDir(root)
    manifest = json.loads((root / "manifest.json").read_text())
    split_of = {i: s for s in ("train", "val", "test") for i in data.ids(s)}
    take_split: dict[str, str] = {}
    for mid, split in split_of.items():
        assert split_of[original_id(mid)] == split  # mirror twin in the same split
        take = manifest["motions"][original_id(mid)]["clip"]
        assert take_split.setdefault(take, split) == split  # no take crosses splits
    mid = data.ids("all")[0]
    np.testing.assert_allclose(features_to_joints(data.features(mid)), data.joints(mid), atol=1e-5)
    assert len(data.captions(mid)) >= 1


@pytest.mark.slow
def test_custom_build_from_cmu(cmu_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = tmp_path / "captions.csv"
    csv_path.write_text("file,caption,start,end\n131_01.bvh,a person walks and turns left,,\n"
                        "131_01.bvh,someone strolls then turns left,,\n131_02,a man waves his right hand,1.0,4.0\n")
    out = tmp_path / "custom"
    assert custom_main(["--bvh-dir", str(cmu_dir), "--captions", str(csv_path), "--out", str(out), "--workers", "1"]) == 0
    _assert_consistent_build(out)
    data = MotionDir(out)
    texts = {m: [c.text for c in data.captions(m)] for m in data.ids("all")}
    wave = next(m for m, t in texts.items() if t == ["a man waves his right hand"])
    assert data.features(wave).shape == (59, 263)  # 3 s at 20 fps = 60 joint frames -> 59 feature frames
    assert texts["M" + wave] == ["a man waves his left hand"]
    assert custom_main(["--bvh-dir", str(cmu_dir), "--captions", str(csv_path), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.slow
def test_bandai_build_limit(bandai_tar: Path, tmp_path: Path) -> None:
    out = tmp_path / "bandai"
    result = build_bandai(bandai_tar, out, workers=1, limit=4)
    assert not list(tmp_path.glob(".*")), "build folders left behind"
    _assert_consistent_build(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["takes"] == 4 and manifest["counts"]["motions"] == len(result.records) > 0
    assert manifest["licence"]["name"] == "CC BY-NC 4.0" and len(manifest["source"]["sha256"]) == 64
    assert manifest["source"]["label_mismatches"] == []
    data = MotionDir(out)
    assert all(len({c.text for c in data.captions(m)}) >= 3 for m in data.ids("all"))
    assert bandai_main(["--src", str(bandai_tar), "--out", str(out), "--limit", "1"]) == 1  # refuses to overwrite
