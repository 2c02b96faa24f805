"""Tests for motiongpt.motion.normalize.Normalizer (HumanML3D Mean/Std convention)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from motiongpt.motion.features import GROUPS, HUMANML3D_LAYOUT
from motiongpt.motion.normalize import Normalizer

RNG = np.random.default_rng(0)


def _data() -> list[np.ndarray]:
    scales = np.linspace(0.1, 3.0, 263)
    return [RNG.normal(size=(n, 263)) * scales + 1.0 for n in (7, 11, 5)]


def test_fit_uses_group_mean_std():
    arrays = _data()
    norm = Normalizer.fit(arrays)
    stacked = np.concatenate(arrays)
    np.testing.assert_allclose(norm.mean, stacked.mean(0), rtol=1e-6)
    for group in GROUPS:
        part = HUMANML3D_LAYOUT.slice(group)
        np.testing.assert_allclose(norm.std[part], stacked.std(0)[part].mean(), rtol=1e-5)


def test_feat_bias_divides_root_and_contact_groups():
    arrays = _data()
    plain, biased = Normalizer.fit(arrays), Normalizer.fit(arrays, feat_bias=5.0)
    for group in GROUPS:
        part = HUMANML3D_LAYOUT.slice(group)
        factor = 5.0 if group in ("root_rot_vel", "root_lin_vel", "root_y", "foot_contact") else 1.0
        np.testing.assert_allclose(biased.std[part] * factor, plain.std[part], rtol=1e-6)


def test_normalize_round_trip_numpy_and_torch():
    norm = Normalizer.fit(_data())
    x = RNG.normal(size=(2, 4, 263))
    np.testing.assert_allclose(norm.denormalize(norm.normalize(x)), x, atol=1e-9)
    for dtype in (torch.float32, torch.float64):
        t = torch.from_numpy(x).to(dtype)
        z = norm.normalize(t)
        assert z.dtype == dtype and z.device == t.device
        np.testing.assert_allclose(z.double().numpy(), norm.normalize(x), atol=1e-4)
        assert torch.allclose(norm.denormalize(z), t, atol=1e-5)


def test_shape_errors_and_bad_stats():
    norm = Normalizer.fit(_data())
    with pytest.raises(ValueError, match="expected last dimension 263, got shape \\(3, 251\\)"):
        norm.normalize(np.zeros((3, 251)))
    with pytest.raises(ValueError, match=r"features\[1\]: expected shape \(T, 263\), got \(4, 10\)"):
        Normalizer.fit([np.zeros((3, 263)), np.zeros((4, 10))], layout=HUMANML3D_LAYOUT)
    with pytest.raises(ValueError, match="std must be finite and > 0"):
        Normalizer(np.zeros(3), np.array([1.0, 0.0, 1.0]))


def test_fit_skips_nan_arrays_with_a_warning():
    arrays = _data()
    bad = arrays[0].copy()
    bad[0, 0] = np.nan
    with pytest.warns(UserWarning, match=r"features\[0\] contains NaN"):
        norm = Normalizer.fit([bad] + arrays[1:])
    np.testing.assert_allclose(norm.mean, np.concatenate(arrays[1:]).mean(0), rtol=1e-6)


def test_save_load_round_trip(tmp_path):
    norm = Normalizer.fit(_data())
    norm.save(tmp_path / "stats")
    assert sorted(p.name for p in (tmp_path / "stats").iterdir()) == ["Mean.npy", "Std.npy"]
    loaded = Normalizer.load(tmp_path / "stats")
    np.testing.assert_array_equal(loaded.mean, norm.mean)
    np.testing.assert_array_equal(loaded.std, norm.std)
    with pytest.raises(FileNotFoundError, match="Mean.npy"):
        Normalizer.load(tmp_path)


def test_loads_shared_humanml3d_stats(humanml3d_dir):
    norm = Normalizer.load(humanml3d_dir)
    assert norm.dim == 263 and norm.layout is HUMANML3D_LAYOUT
    for group in GROUPS:  # the released Std follows the group-mean convention
        assert np.unique(norm.std[HUMANML3D_LAYOUT.slice(group)]).size == 1
