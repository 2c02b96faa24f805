"""Torch datasets: collation shapes, padding, length rules and determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from motiongpt.data.datasets import (
    MotionWindowDataset, TextMotionDataset, collate_motion, collate_text_motion, pad_features,
)


def test_pad_features_pads_to_longest() -> None:
    out, lengths = pad_features([torch.ones(3, 5), torch.ones(7, 5)])
    assert out.shape == (2, 7, 5) and lengths.tolist() == [3, 7]
    assert out[0, 3:].abs().sum() == 0 and out[0, :3].sum() == 15
    with pytest.raises(ValueError, match="different dimensions"):
        pad_features([torch.ones(3, 5), torch.ones(3, 4)])


def test_window_dataset_skips_short_and_crops(layout_dir: Path) -> None:
    ds = MotionWindowDataset(layout_dir, "train", window=40, normalize=False)
    assert ds.skipped == 1 and len(ds) == 3  # 000004 has 30 frames
    batch = collate_motion([ds[i] for i in range(len(ds))])
    assert batch.features.shape == (3, 40, 263) and batch.lengths.tolist() == [40, 40, 40]
    first = batch.features[:, 0, 0]  # feature value == source frame index (+1000 * seed)
    assert torch.equal(batch.features[:, :, 0] - first[:, None], torch.arange(40.0).expand(3, 40))


def test_window_dataset_deterministic(layout_dir: Path) -> None:
    def draws(seed: int) -> list[float]:
        ds = MotionWindowDataset(layout_dir, "train", window=8, normalize=False,
                                 generator=torch.Generator().manual_seed(seed))
        return [float(ds[2].features[0, 0]) for _ in range(10)]
    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_text_dataset_lengths_and_collation(layout_dir: Path) -> None:
    short = TextMotionDataset(layout_dir, "train", min_len=40, max_len=64, unit=4)
    assert len(short) == 2 and short.skipped == 2  # 30 < min_len; 80 >= max_len + unit, as HumanML3D's >= 200
    ds = TextMotionDataset(layout_dir, "train", min_len=40, max_len=80, unit=4)
    assert len(ds) == 3 and ds.skipped == 1  # 80-frame motion kept, cropped to <= 80
    loader = DataLoader(ds, batch_size=3, collate_fn=collate_text_motion)
    batch = next(iter(loader))
    assert batch.features.shape[0] == 3 and batch.features.shape[2] == 263
    assert batch.features.shape[1] == int(batch.lengths.max())
    assert all(n % 4 == 0 and 40 - 4 <= n <= 80 for n in batch.lengths.tolist())
    assert batch.mask.sum() == batch.lengths.sum()
    assert all(t.startswith(("a person walks", "someone strolls")) for t in batch.texts)
    assert all(t.endswith(i) for t, i in zip(batch.texts, batch.ids))


def test_text_dataset_uses_caption_sub_ranges(tmp_path: Path, motion_writer) -> None:
    root = tmp_path / "ds"
    motion_writer(root, "m1", 150, ["whole motion#whole/ADJ#0.0#0.0", "the middle part#middle/NOUN#1.0#4.0"])
    (root / "test.txt").write_text("m1\n")
    ds = TextMotionDataset(root, "test", min_len=40, max_len=196)
    assert len(ds) == 2
    sub = next(it for it in ds.items if it.captions[0].text == "the middle part")
    assert (sub.first, sub.last) == (20, 80)
    torch.manual_seed(0)
    for _ in range(20):
        sample = ds[ds.items.index(sub)]
        assert sample.text == "the middle part"
        assert 20 <= float(sample.features[0, 0]) and float(sample.features[-1, 0]) < 80


def test_text_dataset_deterministic_and_seed_sensitive(layout_dir: Path) -> None:
    def draws(seed: int) -> list[tuple[str, int, float]]:
        ds = TextMotionDataset(layout_dir, "train", generator=torch.Generator().manual_seed(seed))
        out = []
        for _ in range(8):
            s = ds[1]
            out.append((s.text, s.features.shape[0], float(s.features[0, 0])))
        return out
    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_normalized_features(layout_dir: Path) -> None:
    pytest.importorskip("motiongpt.motion.normalize")
    raw = MotionWindowDataset(layout_dir, "val", window=60, normalize=False)[0].features
    norm = MotionWindowDataset(layout_dir, "val", window=60, normalize=True)[0].features
    np.testing.assert_allclose(norm.numpy(), raw.numpy() / 2.0, rtol=1e-5)  # Mean 0, Std 2
