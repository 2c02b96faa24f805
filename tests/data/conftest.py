"""Fixtures for data tests: a tiny fake HumanML3D-layout directory built in tmp_path."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

D, J = 263, 22


def write_motion(root: Path, motion_id: str, frames: int, captions: list[str], seed: int = 0) -> None:
    """Write features (frames, 263), joints (frames, 22, 3) and a caption file for one motion."""
    rng = np.random.default_rng(seed)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    feats = (np.arange(frames, dtype=np.float32)[:, None] + np.zeros((1, D), np.float32)) + seed * 1000
    np.save(root / "new_joint_vecs" / f"{motion_id}.npy", feats)
    np.save(root / "new_joints" / f"{motion_id}.npy", rng.normal(size=(frames, J, 3)).astype(np.float32))
    (root / "texts" / f"{motion_id}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")


def make_layout(root: Path, lengths: dict[str, int], splits: dict[str, list[str]]) -> Path:
    """A layout dir with the given motion lengths and split lists; two whole-motion captions each."""
    for n, (mid, frames) in enumerate(lengths.items()):
        caps = [f"a person walks {mid}#a/DET person/NOUN walk/VERB#0.0#0.0",
                f"someone strolls {mid}#someone/PRON stroll/VERB#0.0#0.0"]
        write_motion(root, mid, frames, caps, seed=n)
    np.save(root / "Mean.npy", np.zeros(D, np.float32))
    np.save(root / "Std.npy", np.full(D, 2.0, np.float32))
    for split, ids in splits.items():
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture
def layout_dir(tmp_path: Path) -> Path:
    """Five motions (50, 80, 120, 30, 60 frames) + mirror of the first; the 30-frame one is short."""
    lengths = {"000001": 50, "M000001": 50, "000002": 80, "000003": 120, "000004": 30, "000005": 60}
    splits = {"train": ["000001", "M000001", "000002", "000004"], "val": ["000005"], "test": ["000003"]}
    return make_layout(tmp_path / "ds", lengths, splits)


@pytest.fixture
def motion_writer():
    """The `write_motion(root, id, frames, captions, seed=0)` helper."""
    return write_motion
