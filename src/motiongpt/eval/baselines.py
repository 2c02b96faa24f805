"""Retrieval baselines that tell at a glance whether a model beats copying from the training set.

- `CaptionRetrieval` (text-to-motion): the training caption nearest to the query by MiniLM sentence embedding
  -> that caption's training motion (its first `length` frames).
- `MotionRetrieval` (motion-to-text): the training motion nearest to the query by evaluator motion embedding
  -> one of that motion's captions.
- Prediction / in-between (`COMPLETION_BASELINES`): hold the last given pose; linear interpolation of every
  joint; velocity-matched cubic Hermite root path with a linearly blended root-relative pose.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.motion.constants import MAX_FRAMES, MIN_FRAMES


@dataclass
class TrainPairs:
    """Training captions and the motions they describe: texts[i] describes features[motion_of[i]] (T_j, D)."""

    texts: list[str]
    motion_of: np.ndarray
    features: list[np.ndarray]
    captions: list[list[str]]  # all captions of each motion

    @classmethod
    def load(cls, data: MotionDir, split: str = "train", min_len: int = MIN_FRAMES, max_len: int = MAX_FRAMES,
             limit: int | None = None) -> TrainPairs:
        """Whole-motion captions of `split` (motions of min_len.. frames, cut to max_len)."""
        texts, motion_of, feats, caps = [], [], [], []
        for mid in data.ids(split):
            if not data.has_motion(mid) or not (data.root / "texts" / f"{mid}.txt").is_file():
                continue
            f = data.features(mid)
            if f.shape[0] < min_len:
                continue
            sentences = [c.text for c in data.captions(mid)]
            feats.append(f[:max_len])
            caps.append(sentences)
            texts += sentences
            motion_of += [len(feats) - 1] * len(sentences)
            if limit is not None and len(feats) >= limit:
                break
        if not feats:
            raise ValueError(f"{data.root}: split {split!r} has no captioned motion of >= {min_len} frames")
        return cls(texts, np.array(motion_of), feats, caps)


def _nearest(queries: torch.Tensor, keys: torch.Tensor) -> np.ndarray:
    """Index of the nearest key (Euclidean) for each query: (Q, E), (K, E) -> (Q,)."""
    return torch.cdist(queries.float(), keys.float()).argmin(1).cpu().numpy()


class CaptionRetrieval:
    """Text-to-motion baseline: nearest training caption (MiniLM) -> its motion."""

    def __init__(self, pairs: TrainPairs) -> None:
        from motiongpt.eval.tmr import sentence_embeddings

        self.pairs = pairs
        self._embed = sentence_embeddings
        self.keys = sentence_embeddings(pairs.texts)  # (K, 384)

    def __call__(self, texts: Sequence[str], lengths: Sequence[int]) -> list[np.ndarray]:
        """Motions (<= length frames each) for the captions."""
        idx = _nearest(self._embed(list(texts)), self.keys)
        return [self.pairs.features[self.pairs.motion_of[i]][:n] for i, n in zip(idx, lengths)]


class MotionRetrieval:
    """Motion-to-text baseline: nearest training motion (evaluator embedding) -> its first caption."""

    def __init__(self, pairs: TrainPairs, evaluator, batch_size: int = 64) -> None:
        self.pairs, self.evaluator = pairs, evaluator
        self.keys = encode_motions(evaluator, pairs.features, batch_size)  # (K, E)

    def __call__(self, features: Sequence[np.ndarray]) -> list[str]:
        """A caption for each motion (T_i, D)."""
        idx = _nearest(encode_motions(self.evaluator, features), self.keys)
        return [self.pairs.captions[i][0] for i in idx]


def encode_motions(evaluator, features: Sequence[np.ndarray], batch_size: int = 64) -> torch.Tensor:
    """Evaluator embeddings (N, E) of raw motions [(T_i, D)], batched with padding."""
    from motiongpt.data.datasets import pad_features

    out = []
    for s in range(0, len(features), batch_size):
        x, lens = pad_features([torch.from_numpy(np.asarray(f, np.float32)) for f in features[s:s + batch_size]])
        out.append(evaluator.encode_motion(x, lens).cpu())
    return torch.cat(out)


# ---- prediction and in-between baselines (global joints (T, J, 3); the first / last `given` frames are kept) ----
def hold_last_pose(joints: np.ndarray, given: int) -> np.ndarray:
    """Prediction: the last given pose held until the end."""
    out = joints.copy()
    out[given:] = joints[given - 1]
    return out


def linear_inbetween(joints: np.ndarray, given: int) -> np.ndarray:
    """In-between: every joint moves on a straight line from the last start frame to the first end frame."""
    out = joints.copy()
    t = len(joints)
    a, b = joints[given - 1], joints[t - given]
    w = np.linspace(0.0, 1.0, t - 2 * given + 2)[1:-1, None, None]
    out[given:t - given] = (1 - w) * a + w * b
    return out


def hermite_inbetween(joints: np.ndarray, given: int) -> np.ndarray:
    """In-between: velocity-matched cubic Hermite root path, heading turned at constant rate, root-relative
    pose (in the heading frame) blended linearly from the last start pose to the first end pose."""
    from motiongpt.motion.trajectory import joints_facing, wrap_angle

    out = joints.copy()
    t = len(joints)
    a, b = given - 1, t - given
    if b - a < 2:
        return out
    u = (np.arange(a + 1, b) - a) / (b - a)  # (G,)
    root = _hermite(joints[:, 0], a, b, u)  # (G, 3)
    yaw = joints_facing(joints[[a, b]])
    heading = yaw[0] + u * wrap_angle(yaw[1] - yaw[0])
    pose_a, pose_b = (_pose_in_heading(joints[i], y) for i, y in ((a, yaw[0]), (b, yaw[1])))
    pose = (1 - u)[:, None, None] * pose_a + u[:, None, None] * pose_b  # (G, J, 3)
    out[a + 1:b] = _pose_to_world(pose, heading) + root[:, None] * np.array([1.0, 0.0, 1.0])
    return out


def _hermite(root: np.ndarray, a: int, b: int, u: np.ndarray) -> np.ndarray:
    """Root positions (G, 3) at parameters u in (0, 1) between frames a and b, tangents = neighbour velocities."""
    span = b - a
    v0 = root[a] - root[a - 1] if a >= 1 else np.zeros(3)
    v1 = root[b + 1] - root[b] if b + 1 < len(root) else np.zeros(3)
    u = u[:, None]
    h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
    return h00 * root[a] + h10 * span * v0 + h01 * root[b] + h11 * span * v1


def _pose_in_heading(pose: np.ndarray, yaw: float) -> np.ndarray:
    """Joints (J, 3) relative to the root's floor position, turned so that `yaw` faces +Z."""
    rel = pose - pose[0] * np.array([1.0, 0.0, 1.0])
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * rel[:, 0] - s * rel[:, 2], rel[:, 1], s * rel[:, 0] + c * rel[:, 2]], axis=-1)


def _pose_to_world(pose: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Heading-frame poses (G, J, 3) turned to face `yaw` (G,)."""
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x, z = pose[..., 0], pose[..., 2]
    return np.stack([c * x + s * z, pose[..., 1], -s * x + c * z], axis=-1)


COMPLETION_BASELINES = {
    "pred": {"Hold-last-pose baseline": hold_last_pose},
    "inbetween": {"Linear baseline": linear_inbetween, "Hermite baseline": hermite_inbetween},
}
