"""Atomic writes never leave a half-written target or stray temporaries."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motiongpt.utils import atomic_dir, atomic_path, atomic_save_npy, atomic_write_json, pick_device


def test_atomic_write_replaces_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert target.read_text().strip().endswith("}")
    assert '"a": 2' in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_failed_write_keeps_old_content_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "x.npy"
    atomic_save_npy(target, np.arange(3))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed mid-write")
    assert np.array_equal(np.load(target), np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_pick_device_cpu() -> None:
    assert pick_device("cpu").type == "cpu"


def test_atomic_file_gets_umask_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "p.json", {})
    finally:
        os.umask(umask)
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644


def test_atomic_dir_swaps_in_and_removes_the_old(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert not (target / "new.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_dir_failure_keeps_the_old_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "half.txt").write_text("partial")
            raise RuntimeError("killed mid-write")
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
