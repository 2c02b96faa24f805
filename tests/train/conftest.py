"""Tiny HumanML3D-layout dataset builder for the tokenizer / training tests (smooth random features)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

D = 263


def smooth_features(rng: np.random.Generator, frames: int, dim: int = D) -> np.ndarray:
    """(frames, dim) float32 random walk, smoothed and scaled to small values (plausible velocities)."""
    walk = np.cumsum(rng.normal(0, 0.05, size=(frames + 8, dim)), axis=0)
    kernel = np.ones(9) / 9
    smooth = np.stack([np.convolve(walk[:, d], kernel, mode="valid") for d in range(dim)], axis=1)
    return (0.1 * smooth[:frames]).astype(np.float32)


def build_tiny_dataset(root: Path, lengths: dict[str, list[int]], seed: int = 0) -> Path:
    """Write features, texts, Mean/Std and split files; `lengths` maps split -> frame counts."""
    rng = np.random.default_rng(seed)
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    allf = []
    for split, frames in lengths.items():
        ids = [f"{split}{i:03d}" for i in range(len(frames))]
        for mid, t in zip(ids, frames):
            feats = smooth_features(rng, t)
            allf.append(feats)
            np.save(root / "new_joint_vecs" / f"{mid}.npy", feats)
            (root / "texts" / f"{mid}.txt").write_text("a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n")
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    stacked = np.concatenate(allf)
    np.save(root / "Mean.npy", stacked.mean(0).astype(np.float32))
    np.save(root / "Std.npy", (stacked.std(0) + 1e-3).astype(np.float32))
    return root


@pytest.fixture
def tiny_motion_dir(tmp_path: Path) -> Path:
    """A HumanML3D-layout dir with 6 train, 2 val and 2 test motions of 20..48 frames."""
    return build_tiny_dataset(tmp_path / "tiny", {"train": [24, 32, 40, 48, 20, 36], "val": [28, 33], "test": [25, 40]})
