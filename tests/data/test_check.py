"""check_dir finds every problem kind and `motiongpt data check` exits accordingly."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from motiongpt.data.check import check_dir, main


def _break_nan(root: Path) -> None:
    arr = np.load(root / "new_joint_vecs/000002.npy")
    arr[3, 7] = np.nan
    np.save(root / "new_joint_vecs/000002.npy", arr)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing-folder": (lambda r: [p.unlink() for p in (r / "texts").iterdir()] and (r / "texts").rmdir(), "texts"),
    "missing-split": (lambda r: (r / "val.txt").unlink(), "val.txt"),
    "missing-file": (lambda r: (r / "new_joints/000003.npy").unlink(), "new_joints/000003.npy"),
    "bad-shape": (lambda r: np.save(r / "new_joint_vecs/000002.npy", np.zeros((80, 200), np.float32)), "(80, 200)"),
    "frame-mismatch": (lambda r: np.save(r / "new_joints/000002.npy", np.zeros((79, 22, 3), np.float32)), "79 frames"),
    "non-finite": (_break_nan, "1 NaN/inf"),
    "empty-captions": (lambda r: (r / "texts/000003.txt").write_text("\n"), "texts/000003.txt"),
    "bad-caption": (lambda r: _append(r / "texts/000002.txt", "no hashes here\n"), "line 3"),
    "duplicate-across-splits": (lambda r: _append(r / "test.txt", "000001\n"), "also in train.txt"),
    "mirror-without-original": (
        lambda r: [(r / f"{d}/000001.{e}").unlink() for d, e in (("new_joint_vecs", "npy"), ("new_joints", "npy"), ("texts", "txt"))],
        "no original 000001.npy"),
    "bad-std": (lambda r: np.save(r / "Std.npy", np.zeros(263, np.float32)), "263 entries <= 0"),
    "bad-split": (lambda r: (r / "train.txt").write_bytes(b"000001\n\xff\xfe\n"), "train.txt: not UTF-8 text (byte 7)"),
}


def test_non_utf8_caption_is_one_line(layout_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (layout_dir / "texts/000002.txt").write_bytes(b"a man walks#\xe9\n")
    assert main([str(layout_dir)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "000002.txt" in line]
    assert lines == ["error: texts/000002.txt: not UTF-8 text (byte 12) [bad-caption]"]


def test_clean_directory_has_no_errors(layout_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [p for p in check_dir(layout_dir) if p.severity == "error"] == []
    assert main([str(layout_dir)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_each_problem_kind_is_reported(layout_dir: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    breakage, detail = BREAKAGES[kind]
    breakage(layout_dir)
    problems = [p for p in check_dir(layout_dir) if p.kind == kind]
    assert problems, f"{kind} not detected"
    assert any(detail in f"{p.path}: {p.message}" for p in problems), problems
    assert main([str(layout_dir)]) == 1
    assert kind in capsys.readouterr().out


def test_unlisted_motion_is_a_warning(layout_dir: Path) -> None:
    (layout_dir / "val.txt").write_text("")
    problems = check_dir(layout_dir)
    assert {p.kind for p in problems} == {"unlisted"} and problems[0].severity == "warning"


def test_quick_mode_skips_value_scan(layout_dir: Path) -> None:
    _break_nan(layout_dir)
    assert not [p for p in check_dir(layout_dir, scan_values=False) if p.kind == "non-finite"]


def test_real_humanml3d_samples_pass(humanml3d_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "h3d"
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    ids = sorted(p.stem for p in (humanml3d_dir / "samples/new_joint_vecs").glob("*.npy"))
    for mid in ids:
        for sub in ("new_joint_vecs", "new_joints"):
            (root / sub / f"{mid}.npy").symlink_to(humanml3d_dir / "samples" / sub / f"{mid}.npy")
        (root / "texts" / f"{mid}.txt").write_text("a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n")
    for name in ("Mean.npy", "Std.npy"):
        (root / name).symlink_to(humanml3d_dir / name)
    (root / "train.txt").write_text("\n".join(ids) + "\n")
    (root / "val.txt").write_text("")
    (root / "test.txt").write_text("")
    kinds = {p.kind for p in check_dir(root)}
    assert kinds == {"mirror-without-original"}, kinds  # samples hold M010655 without 010655
