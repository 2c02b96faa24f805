"""Motion metrics of the HumanML3D protocol (Guo et al. 2022), as pure numpy functions.

Text-to-motion: R-Precision (pools of 32), MM-Dist, FID, Diversity, MultiModality, all computed on evaluator
embeddings. Prediction / in-between: ADE and FDE on joint positions (mask-aware). Aggregation over replications:
`mean_ci95` (mean and 1.96 * std / sqrt(R)).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(64, 8))
    >>> round(fid(x, x), 6)
    0.0
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

R_PRECISION_POOL = 32  # the original computes R-Precision on batches of 32 (1 match + 31 mismatches)


def _as_2d(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, E), got shape {x.shape}")
    return x


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances: a (N,E), b (M,E) -> (N,M)."""
    a, b = _as_2d("a", a), _as_2d("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: a {a.shape} vs b {b.shape}")
    sq = (a**2).sum(1)[:, None] - 2.0 * a @ b.T + (b**2).sum(1)[None, :]  # (N,M)
    return np.sqrt(np.clip(sq, 0.0, None))


def _check_pairs(text_emb: np.ndarray, motion_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, m = _as_2d("text_emb", text_emb), _as_2d("motion_emb", motion_emb)
    if t.shape != m.shape:
        raise ValueError(f"text_emb {t.shape} and motion_emb {m.shape} must pair row by row")
    return t, m


def r_precision(text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3,
                pool: int = R_PRECISION_POOL) -> np.ndarray:
    """R-Precision top-1..top_k: row i of text_emb matches row i of motion_emb.

    Rows are cut into consecutive pools of `pool` (the incomplete last pool is dropped, as the original's
    drop_last loader does); in each pool every text ranks the pool's motions by distance. Returns (top_k,) the
    fraction of texts whose own motion is within the k nearest. Chance level is k / pool.
    """
    t, m = _check_pairs(text_emb, motion_emb)
    n_pools = t.shape[0] // pool
    if n_pools == 0:
        raise ValueError(f"R-Precision needs at least {pool} pairs, got {t.shape[0]}")
    hits = np.zeros(top_k)
    for p in range(n_pools):
        sl = slice(p * pool, (p + 1) * pool)
        dist = euclidean_distance_matrix(t[sl], m[sl])  # (pool, pool)
        rank = (dist < np.diag(dist)[:, None]).sum(1)  # (pool,) motions strictly closer than the match
        hits += np.array([(rank < k).sum() for k in range(1, top_k + 1)])
    return hits / (n_pools * pool)


def mm_dist(text_emb: np.ndarray, motion_emb: np.ndarray) -> float:
    """MM-Dist (the original's "matching score"): mean distance between paired text and motion embeddings."""
    t, m = _check_pairs(text_emb, motion_emb)
    return float(np.linalg.norm(t - m, axis=1).mean())


def activation_statistics(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (E,) and covariance (E,E) of embeddings (N,E)."""
    x = _as_2d("emb", emb)
    if x.shape[0] < 2:
        raise ValueError(f"FID statistics need at least 2 embeddings, got {x.shape[0]}")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians N(mu1, cov1) and N(mu2, cov2) (as in the original / pytorch-fid)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    diff = mu1 - mu2
    covmean = np.atleast_2d(linalg.sqrtm(cov1.dot(cov2)))
    if not np.isfinite(covmean).all():
        offset = np.eye(cov1.shape[0]) * eps
        covmean = np.atleast_2d(linalg.sqrtm((cov1 + offset).dot(cov2 + offset)))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))


def fid(real_emb: np.ndarray, gen_emb: np.ndarray) -> float:
    """FID between real (N,E) and generated (M,E) evaluator embeddings."""
    return max(0.0, frechet_distance(*activation_statistics(real_emb), *activation_statistics(gen_emb)))


def diversity(emb: np.ndarray, times: int = 300, rng: np.random.Generator | None = None) -> float:
    """Mean distance between `times` random pairs of embeddings (N,E), N >= times (no index reused per side)."""
    x = _as_2d("emb", emb)
    if x.shape[0] < times:
        raise ValueError(f"Diversity with times={times} needs at least {times} embeddings, got {x.shape[0]}")
    rng = rng or np.random.default_rng()
    first = rng.choice(x.shape[0], times, replace=False)
    second = rng.choice(x.shape[0], times, replace=False)
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def multimodality(emb: np.ndarray, times: int = 10, rng: np.random.Generator | None = None) -> float:
    """MultiModality: emb (N texts, R generations per text, E); mean distance of `times` pairs within each text."""
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"multimodality: expected (N texts, R repeats, E), got shape {x.shape}")
    if x.shape[1] < times:
        raise ValueError(f"MultiModality with times={times} needs >= {times} repeats per text, got {x.shape[1]}")
    rng = rng or np.random.default_rng()
    first = rng.choice(x.shape[1], times, replace=False)
    second = rng.choice(x.shape[1], times, replace=False)
    return float(np.linalg.norm(x[:, first] - x[:, second], axis=2).mean())


def ade_fde(pred: np.ndarray, target: np.ndarray, lengths: np.ndarray | None = None,
            start: np.ndarray | None = None) -> tuple[float, float]:
    """Average and final displacement errors (units of the input) over joints, mask-aware.

    pred, target (B,T,J,3). Frame t of sample b counts when start[b] <= t < lengths[b] (start defaults to 0:
    pass the number of given prefix frames to score only predicted frames). ADE = mean over counted frames and
    joints of the joint distance; FDE = the same on each sample's last counted frame, averaged over samples.
    """
    p, g = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if p.shape != g.shape or p.ndim != 4 or p.shape[-1] != 3:
        raise ValueError(f"ade_fde: pred {p.shape} and target {g.shape} must both be (B,T,J,3)")
    b, t = p.shape[:2]
    end = np.full(b, t) if lengths is None else np.asarray(lengths, dtype=np.int64)
    begin = np.zeros(b, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64)
    if end.shape != (b,) or begin.shape != (b,) or (end > t).any() or (begin >= end).any():
        raise ValueError(f"ade_fde: need 0 <= start < lengths <= T={t} per sample; got start {begin}, lengths {end}")
    err = np.linalg.norm(p - g, axis=-1).mean(-1)  # (B,T) mean over joints
    frames = np.arange(t)[None, :]
    mask = (frames >= begin[:, None]) & (frames < end[:, None])  # (B,T)
    ade = float((err * mask).sum() / mask.sum())
    fde = float(err[np.arange(b), end - 1].mean())
    return ade, fde


def mean_ci95(values: np.ndarray | list[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width 1.96 * std / sqrt(R) over R replications (std with ddof=0)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_ci95: no values")
    return float(v.mean()), float(1.96 * v.std() / np.sqrt(v.size))
