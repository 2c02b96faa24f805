"""Reconstruction metrics of the motion tokenizer: MPJPE, PA-MPJPE, acceleration error, codebook usage.

All joint inputs are in metres, (..., T, J, 3) with an optional frame mask (..., T); results are in mm.
MPJPE is root-aligned (the pelvis is subtracted per frame, as in MotionGPT's `MRMetrics`); PA-MPJPE applies
the per-frame similarity Procrustes alignment (rotation, translation and scale); the acceleration error
compares second differences of the joints and counts a frame only when it and both neighbours are valid.

`reconstruction_table(tokenizer, motion_dir, split)` encodes and decodes every motion of a split and returns
the table `motiongpt eval recon` and `benchmarks/bench_vq.py` print.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.motion.features import features_to_joints
from motiongpt.tokenizer.quantizer import perplexity_and_usage

MM = 1000.0


def _frame_weights(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Mask (..., T) or None -> float weights of shape (..., T)."""
    if mask is None:
        return np.ones(shape, dtype=np.float64)
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape != shape:
        raise ValueError(f"mask has shape {mask.shape}, expected {shape}")
    return mask


def _check_pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.ndim < 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred and target must both be (..., T, J, 3); got {pred.shape} and {target.shape}")
    return pred, target


def _weighted_mean(err: np.ndarray, weights: np.ndarray) -> float:
    """Mean of per-frame errors (..., T) under weights (..., T)."""
    total = weights.sum()
    if total == 0:
        raise ValueError("no valid frame to evaluate (empty mask)")
    return float((err * weights).sum() / total)


def mpjpe(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root-aligned mean per-joint position error in mm; pred/target (..., T, J, 3) metres, mask (..., T)."""
    pred, target = _check_pair(pred, target)
    pred = pred - pred[..., :1, :]
    target = target - target[..., :1, :]
    err = np.linalg.norm(pred - target, axis=-1).mean(-1)  # (..., T)
    return MM * _weighted_mean(err, _frame_weights(mask, err.shape))


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity transform (scale, rotation, translation) of each frame of pred (..., J, 3) onto target."""
    mu_p, mu_t = pred.mean(-2, keepdims=True), target.mean(-2, keepdims=True)
    p, t = pred - mu_p, target - mu_t  # (..., J, 3)
    cov = np.swapaxes(p, -1, -2) @ t  # (..., 3, 3)
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))  # (...,) reflection fix
    s[..., -1] *= d
    u[..., :, -1] *= d[..., None]
    rot = u @ vt  # (..., 3, 3): p @ rot ~ t
    var = (p**2).sum((-1, -2))  # (...,)
    scale = s.sum(-1) / np.maximum(var, 1e-12)  # (...,)
    return scale[..., None, None] * (p @ rot) + mu_t


def pa_mpjpe(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """MPJPE in mm after per-frame Procrustes alignment with scale."""
    pred, target = _check_pair(pred, target)
    err = np.linalg.norm(procrustes_align(pred, target) - target, axis=-1).mean(-1)  # (..., T)
    return MM * _weighted_mean(err, _frame_weights(mask, err.shape))


def accel_error(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean joint acceleration error (second differences, mm per frame^2); frames need both neighbours valid."""
    pred, target = _check_pair(pred, target)
    if pred.shape[-3] < 3:
        raise ValueError(f"acceleration needs >= 3 frames, got {pred.shape[-3]}")
    acc = lambda x: x[..., 2:, :, :] - 2 * x[..., 1:-1, :, :] + x[..., :-2, :, :]  # noqa: E731
    err = np.linalg.norm(acc(pred) - acc(target), axis=-1).mean(-1)  # (..., T-2)
    w = _frame_weights(mask, pred.shape[:-2])
    return MM * _weighted_mean(err, w[..., 2:] * w[..., 1:-1] * w[..., :-2])


def codebook_stats(ids: Sequence[torch.Tensor | np.ndarray], codebook_size: int) -> dict[str, float]:
    """Fraction of codes used and perplexity of the code histogram of token sequences."""
    flat = np.concatenate([np.asarray(i, dtype=np.int64).ravel() for i in ids])
    if flat.size and (flat.min() < 0 or flat.max() >= codebook_size):
        raise ValueError(f"token ids must lie in [0, {codebook_size}), got {flat.min()}..{flat.max()}")
    counts = torch.from_numpy(np.bincount(flat, minlength=codebook_size).astype(np.float64))
    perplexity, usage = perplexity_and_usage(counts)
    return {"codebook_usage": float(usage), "perplexity": float(perplexity)}


def _batches(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@torch.no_grad()
def reconstruct(tokenizer, features: Sequence[np.ndarray], batch_size: int = 32) -> tuple[list[np.ndarray], list[torch.Tensor]]:
    """Encode + decode raw motions [(T_i, D)] -> reconstructions [(4 floor(T_i/4), D)] and their token ids."""
    device = tokenizer.mean.device
    recons, all_ids = [], []
    order = sorted(range(len(features)), key=lambda i: len(features[i]))  # similar lengths batch together
    out: dict[int, tuple[np.ndarray, torch.Tensor]] = {}
    for chunk in _batches(order, batch_size):
        lengths = torch.tensor([len(features[i]) for i in chunk])
        padded = torch.zeros(len(chunk), int(lengths.max()), features[chunk[0]].shape[-1])
        for row, i in enumerate(chunk):
            padded[row, : len(features[i])] = torch.from_numpy(np.asarray(features[i], dtype=np.float32))
        ids = tokenizer.encode(padded.to(device), lengths.to(device))
        rec, rec_len = tokenizer.decode(ids)
        for row, i in enumerate(chunk):
            out[i] = (rec[row, : int(rec_len[row])].cpu().numpy(), ids[row].cpu())
    for i in range(len(features)):
        recons.append(out[i][0])
        all_ids.append(out[i][1])
    return recons, all_ids


def reconstruction_table(tokenizer, motion_dir: str | os.PathLike | MotionDir, split: str,
                         max_motions: int | None = None, batch_size: int = 32) -> dict[str, float]:
    """Reconstruct every motion of `split` (>= 4 frames) and report MPJPE, PA-MPJPE, accel error (mm), usage."""
    data = motion_dir if isinstance(motion_dir, MotionDir) else MotionDir(motion_dir)
    step = tokenizer.downsample
    ids = [m for m in data.ids(split) if data.has_motion(m) and data.features(m).shape[0] >= max(step, 3)]
    if max_motions is not None:
        ids = ids[:max_motions]
    if not ids:
        raise ValueError(f"{data.root}: split {split!r} has no motion to reconstruct")
    feats = [data.features(m) for m in ids]
    recons, tokens = reconstruct(tokenizer, feats, batch_size)
    pred = [features_to_joints(r.astype(np.float32)) for r in recons]  # [(T', J, 3)]
    target = [features_to_joints(f[: len(r)].astype(np.float32)) for f, r in zip(feats, recons)]
    cat = lambda xs: np.concatenate(xs, axis=0)  # noqa: E731 (frames of all motions)
    frames = sum(len(p) for p in pred)
    pairs = [(p, t) for p, t in zip(pred, target) if len(p) >= 3]
    acc = np.average([accel_error(p, t) for p, t in pairs], weights=[len(p) - 2 for p, _ in pairs])
    return {
        "split": split,
        "num_motions": len(ids),
        "num_frames": frames,
        "mpjpe_mm": mpjpe(cat(pred), cat(target)),
        "pa_mpjpe_mm": pa_mpjpe(cat(pred), cat(target)),
        "accel_error_mm": float(acc),
        **codebook_stats(tokens, tokenizer.codebook_size),
    }
