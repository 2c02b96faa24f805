"""Retrieval baselines that tell at a glance whether a model beats copying from the training set.

- `CaptionRetrieval` (text-to-motion): the training caption nearest to the query by MiniLM sentence embedding
  -> that caption's training motion (its first `length` frames).
- `MotionRetrieval` (motion-to-text): the training motion nearest to the query by evaluator motion embedding
  -> one of that motion's captions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from motiongpt.data.layout import MotionDir


@dataclass
class TrainPairs:
    """Training captions and the motions they describe: texts[i] describes features[motion_of[i]] (T_j, D)."""

    texts: list[str]
    motion_of: np.ndarray
    features: list[np.ndarray]
    captions: list[list[str]]  # all captions of each motion

    @classmethod
    def load(cls, data: MotionDir, split: str = "train", min_len: int = 40, max_len: int = 196,
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
