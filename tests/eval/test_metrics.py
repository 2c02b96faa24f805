"""Motion metrics against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from motiongpt.eval import metrics as M


def test_distance_matrix_hand_values():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    np.testing.assert_allclose(M.euclidean_distance_matrix(a, b), [[0, 1, 3], [5, np.sqrt(18), 4]], atol=1e-9)


def test_r_precision_perfect_and_constructed_ranks():
    rng = np.random.default_rng(0)
    motion = rng.normal(size=(64, 4)) * 10
    np.testing.assert_allclose(M.r_precision(motion, motion), [1, 1, 1])
    # Put each text on a line: text i at x=i, motion i at x=i+0.6 -> its own motion is 2nd nearest except the
    # last one in each pool of 32 (nearest then), and text 0 has motion 0 nearest.
    x = np.arange(32, dtype=float)[:, None]
    text, mot = np.hstack([x, 0 * x]), np.hstack([x + 0.6, 0 * x])
    top = M.r_precision(text, mot, top_k=3)
    # text i: motions at i-0.4 (i-1's) and i+0.6 (own) -> own is second unless i == 0
    np.testing.assert_allclose(top, [1 / 32, 1, 1])


def test_r_precision_chance_level_and_drop_last():
    rng = np.random.default_rng(1)
    t, m = rng.normal(size=(32 * 200 + 5, 16)), rng.normal(size=(32 * 200 + 5, 16))
    top = M.r_precision(t, m)
    np.testing.assert_allclose(top, [1 / 32, 2 / 32, 3 / 32], atol=0.012)
    with pytest.raises(ValueError, match="at least 32"):
        M.r_precision(t[:31], m[:31])


def test_mm_dist_hand_value():
    assert M.mm_dist(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[3.0, 4.0], [1.0, 2.0]])) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="pair row by row"):
        M.mm_dist(np.zeros((2, 2)), np.zeros((3, 2)))


def test_fid_identical_zero_and_shifted_mean():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 6))
    assert M.fid(x, x) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean shifted by (2,0,...): FID = |d|^2 = 4
    assert M.fid(x, x + np.array([2.0, 0, 0, 0, 0, 0])) == pytest.approx(4.0, abs=1e-6)


def test_frechet_distance_closed_form_diagonal():
    # 1-D Gaussians: (mu1-mu2)^2 + s1^2 + s2^2 - 2 s1 s2
    d = M.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([0.0]), np.array([[1.0]]))
    assert d == pytest.approx(1 + 4 + 1 - 2 * 2)


def test_diversity_and_multimodality_hand_values():
    pts = np.array([[0.0], [2.0]]).repeat(300, 0)  # two clusters at distance 2
    pts[300:] = 2.0
    pts[:300] = 0.0
    rng = np.random.default_rng(3)
    div = M.diversity(pts, times=300, rng=rng)
    assert 0.5 < div < 1.5  # pairs cross clusters about half the time: expected 1.0
    same = np.ones((5, 30, 3))
    assert M.multimodality(same, times=10) == 0.0
    spread = np.zeros((2, 10, 1))
    spread[:, ::2] = 1.0  # half of the repeats at 1, half at 0
    assert 0.0 <= M.multimodality(spread, times=10, rng=rng) <= 1.0
    with pytest.raises(ValueError, match="needs at least 300"):
        M.diversity(pts[:10], times=300)


def test_ade_fde_mask_aware():
    pred, target = np.zeros((2, 4, 2, 3)), np.zeros((2, 4, 2, 3))
    pred[0, :, :, 0] = 1.0  # sample 0: every frame off by 1
    pred[1, 1, :, 1] = 4.0  # sample 1: frame 1 off by 4, frames 2..3 padded (length 2)
    pred[1, 3, :, 1] = 100.0  # beyond length: ignored
    ade, fde = M.ade_fde(pred, target, lengths=np.array([4, 2]))
    assert ade == pytest.approx((4 * 1 + 4) / 6)
    assert fde == pytest.approx((1 + 4) / 2)
    ade_pred, _ = M.ade_fde(pred, target, lengths=np.array([4, 2]), start=np.array([2, 1]))
    assert ade_pred == pytest.approx((2 * 1 + 4) / 3)
    with pytest.raises(ValueError, match="start < lengths"):
        M.ade_fde(pred, target, lengths=np.array([5, 2]))


def test_mean_ci95():
    mean, ci = M.mean_ci95([1.0, 3.0])
    assert mean == 2.0 and ci == pytest.approx(1.96 * 1.0 / np.sqrt(2))
