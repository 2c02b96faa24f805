"""Tests for motiongpt.motion.quaternion (numpy and torch agree with rotation matrices)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from motiongpt.motion.quaternion import (
    cont6d_to_matrix,
    qbetween,
    qfix,
    qinv,
    qmul,
    qnormalize,
    qrot,
    quat_to_cont6d,
    quat_to_matrix,
    yrot_quat,
)

RNG = np.random.default_rng(0)
Q = qnormalize(RNG.normal(size=(6, 4)))
R = qnormalize(RNG.normal(size=(6, 4)))
V = RNG.normal(size=(6, 3))


@pytest.mark.parametrize("kind", [np.asarray, torch.from_numpy])
def test_qrot_qmul_qinv_agree_with_matrices(kind):
    q, r, v = kind(Q), kind(R), kind(V)
    rotated = np.asarray(qrot(q, v))
    np.testing.assert_allclose(rotated, np.einsum("nij,nj->ni", np.asarray(quat_to_matrix(q)), V), atol=1e-12)
    np.testing.assert_allclose(np.asarray(qrot(qmul(q, r), v)), np.asarray(qrot(q, qrot(r, v))), atol=1e-12)
    np.testing.assert_allclose(np.asarray(qrot(qinv(q), qrot(q, v))), V, atol=1e-12)


def test_qbetween_maps_directions_including_opposite_ones():
    v0 = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.3, -0.2, 0.9]])
    v1 = np.array([[1.0, 0.0, 0.0], [-3.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-0.3, 0.2, -0.9]])
    for kind in (np.asarray, torch.from_numpy):
        q = np.asarray(qbetween(kind(v0), kind(v1)))
        assert np.isfinite(q).all()
        unit = v1 / np.linalg.norm(v1, axis=-1, keepdims=True)
        np.testing.assert_allclose(qrot(q, v0 / np.linalg.norm(v0, axis=-1, keepdims=True)), unit, atol=1e-12)


def test_cont6d_round_trip_and_yaw():
    np.testing.assert_allclose(cont6d_to_matrix(quat_to_cont6d(Q)), quat_to_matrix(Q), atol=1e-12)
    quarter_turn = yrot_quat(np.array(np.pi / 2))
    np.testing.assert_allclose(qrot(quarter_turn, np.array([0.0, 0.0, 1.0])), [1.0, 0.0, 0.0], atol=1e-12)


def test_qfix_makes_consecutive_quaternions_close():
    q = np.stack([Q[:2], -Q[:2], -Q[:2], Q[:2]])  # (4, 2, 4): same rotations, flipped signs
    np.testing.assert_array_equal(qfix(q), np.stack([Q[:2]] * 4))
    with pytest.raises(ValueError, match=r"\(T, J, 4\)"):
        qfix(Q)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"v must have shape \(\.\.\., 3\)"):
        qrot(Q, Q)
