"""Reconstruction metrics against hand-computed values, masks, and the table on a tiny dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from motiongpt.eval.recon import accel_error, codebook_stats, mpjpe, pa_mpjpe, procrustes_align, reconstruction_table
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig


def _pose(frames: int = 4, joints: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(frames, joints, 3))


def test_mpjpe_is_root_aligned_in_mm():
    target = _pose()
    pred = target + np.array([1.0, 2.0, 3.0])  # a global shift vanishes after root alignment
    assert mpjpe(pred, target) == pytest.approx(0.0, abs=1e-9)
    moved = target.copy()
    moved[:, 1:, 0] += 0.003  # every non-root joint 3 mm off: mean over 5 joints = 2.4 mm
    assert mpjpe(moved, target) == pytest.approx(2.4)


def test_mpjpe_mask_ignores_padded_frames():
    target = _pose()
    pred = target.copy()
    pred[3, 1:, 1] += 1.0  # huge error only on frame 3
    assert mpjpe(pred, target, mask=np.array([1, 1, 1, 0])) == pytest.approx(0.0, abs=1e-9)
    assert mpjpe(pred, target) == pytest.approx(1000 * 0.8 / 4)


def test_pa_mpjpe_removes_similarity_transforms():
    target = _pose()
    angle = 0.7
    rot = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    pred = 1.7 * target @ rot.T + np.array([0.3, -1.0, 2.0])
    assert pa_mpjpe(pred, target) == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(procrustes_align(pred, target), target, atol=1e-9)
    assert mpjpe(pred, target) > 100
    mirrored = target * np.array([-1.0, 1.0, 1.0])  # a reflection is not a rotation: error stays
    assert pa_mpjpe(mirrored, target) > 1.0


def test_accel_error_hand_value_and_mask():
    target = np.zeros((5, 2, 3))
    pred = np.zeros((5, 2, 3))
    pred[2, :, 0] = 0.002  # second differences at frames 1,2,3: +2, -4, +2 mm
    assert accel_error(pred, target) == pytest.approx((2 + 4 + 2) / 3)
    assert accel_error(pred, target, mask=np.array([1, 1, 1, 0, 0])) == pytest.approx(2.0)  # only frame 1 counts
    with pytest.raises(ValueError, match="empty mask"):
        accel_error(pred, target, mask=np.array([1, 1, 0, 1, 1]))


def test_codebook_stats():
    stats = codebook_stats([torch.tensor([0, 1]), np.array([2, 3])], codebook_size=8)
    assert stats == {"codebook_usage": 0.5, "perplexity": pytest.approx(4.0)}
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        codebook_stats([np.array([8])], codebook_size=8)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(\.\.\., T, J, 3\)"):
        mpjpe(np.zeros((4, 5, 3)), np.zeros((4, 4, 3)))


def _tiny_dir(root: Path) -> Path:
    """Two test motions (25 and 40 frames) of smooth random features in HumanML3D layout."""
    rng = np.random.default_rng(0)
    (root / "new_joint_vecs").mkdir(parents=True)
    feats = [np.cumsum(rng.normal(0, 0.01, size=(t, 263)), axis=0).astype(np.float32) for t in (25, 40)]
    for i, f in enumerate(feats):
        np.save(root / "new_joint_vecs" / f"t{i}.npy", f)
    (root / "test.txt").write_text("t0\nt1\n")
    stacked = np.concatenate(feats)
    np.save(root / "Mean.npy", stacked.mean(0))
    np.save(root / "Std.npy", stacked.std(0) + 1e-3)
    return root


def test_reconstruction_table_on_tiny_dataset(tmp_path):
    from motiongpt.data.layout import MotionDir

    data = MotionDir(_tiny_dir(tmp_path / "tiny"))
    torch.manual_seed(0)
    tok = MotionTokenizer(TokenizerConfig(codebook_size=16, code_dim=8, width=16, depth=2), data.mean, data.std)
    tok.train()
    tok.quantizer(torch.randn(64, 8))  # initialise the codebook
    table = reconstruction_table(tok.eval(), data, "test")
    assert table["num_motions"] == 2 and table["num_frames"] == 24 + 40
    assert table["mpjpe_mm"] > 0 and table["pa_mpjpe_mm"] <= table["mpjpe_mm"] * 1.5
    assert 0 < table["codebook_usage"] <= 1 and table["perplexity"] >= 1
