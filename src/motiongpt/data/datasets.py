"""Torch datasets over a HumanML3D-layout directory, with typed batches and dynamic padding.

- `MotionWindowDataset` (tokenizer training): one random `window`-frame crop of a motion per draw,
  normalised features; motions shorter than the window are skipped (`skipped` counts them).
- `TextMotionDataset` (LM / evaluator): one random caption of a motion per draw; captions with a start/end
  sub-range become their own items over that range, as in HumanML3D's loader; the length is cropped to a
  multiple of `unit` (one unit less with probability 1/3) at a random offset, like the original
  `Text2MotionDatasetV2`; raw or normalised features.

Randomness comes from the dataset's `torch.Generator` (seed it for reproducible draws). In DataLoader
workers each worker re-seeds its copy from the worker seed, itself derived from the DataLoader's generator,
so runs with a seeded DataLoader are reproducible too.

Usage::

    ds = TextMotionDataset("data/bandai", "train", generator=torch.Generator().manual_seed(0))
    loader = DataLoader(ds, batch_size=32, shuffle=True, collate_fn=collate_text_motion)
    batch: TextMotionBatch = next(iter(loader))   # batch.features (B, T_max, D), batch.lengths (B,)
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from motiongpt.data.layout import TEXTS_DIR, Caption, MotionDir
from motiongpt.motion.constants import MAX_FRAMES, MIN_FRAMES

log = logging.getLogger(__name__)


@dataclass
class MotionSample:
    """One motion crop: features (T, D)."""

    features: torch.Tensor
    motion_id: str


@dataclass
class MotionBatch:
    """Padded motion crops: features (B, T_max, D) normalised, lengths (B,), ids."""

    features: torch.Tensor
    lengths: torch.Tensor
    ids: list[str]

    def to(self, device: torch.device | str) -> MotionBatch:
        """The batch with tensors moved to `device`."""
        return MotionBatch(self.features.to(device), self.lengths.to(device), self.ids)

    @property
    def mask(self) -> torch.Tensor:
        """(B, T_max) bool, True on real frames."""
        return length_mask(self.lengths, self.features.shape[1])


@dataclass
class TextMotionSample:
    """One (caption, motion) pair: features (T, D)."""

    text: str
    tokens: tuple[str, ...]
    features: torch.Tensor
    motion_id: str


@dataclass
class TextMotionBatch:
    """Padded (caption, motion) pairs: features (B, T_max, D), lengths (B,), texts, word/POS tokens, ids."""

    texts: list[str]
    features: torch.Tensor
    lengths: torch.Tensor
    ids: list[str]
    tokens: list[tuple[str, ...]]

    def to(self, device: torch.device | str) -> TextMotionBatch:
        """The batch with tensors moved to `device`."""
        return TextMotionBatch(self.texts, self.features.to(device), self.lengths.to(device), self.ids, self.tokens)

    @property
    def mask(self) -> torch.Tensor:
        """(B, T_max) bool, True on real frames."""
        return length_mask(self.lengths, self.features.shape[1])


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask of valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def pad_features(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """[(T_i, D)] -> zero-padded (B, max T_i, D) and lengths (B,) long."""
    if not items:
        raise ValueError("cannot collate an empty batch")
    dims = {x.shape[1] for x in items}
    if len(dims) != 1:
        raise ValueError(f"cannot collate features of different dimensions {sorted(dims)}")
    lengths = torch.tensor([x.shape[0] for x in items], dtype=torch.long)
    out = items[0].new_zeros((len(items), int(lengths.max()), items[0].shape[1]))
    for i, x in enumerate(items):
        out[i, : x.shape[0]] = x
    return out, lengths


def collate_motion(samples: Sequence[MotionSample]) -> MotionBatch:
    """Collate `MotionSample`s with padding to the longest crop."""
    features, lengths = pad_features([s.features for s in samples])
    return MotionBatch(features, lengths, [s.motion_id for s in samples])


def collate_text_motion(samples: Sequence[TextMotionSample]) -> TextMotionBatch:
    """Collate `TextMotionSample`s with padding to the longest motion."""
    features, lengths = pad_features([s.features for s in samples])
    return TextMotionBatch(
        [s.text for s in samples], features, lengths, [s.motion_id for s in samples], [s.tokens for s in samples]
    )


def _as_motion_dir(root: str | os.PathLike | MotionDir) -> MotionDir:
    return root if isinstance(root, MotionDir) else MotionDir(root)


class _SeededDataset(Dataset):
    """Base: a torch.Generator for draws, re-seeded once per DataLoader worker."""

    def __init__(self, generator: torch.Generator | None) -> None:
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self._worker_seeded: int | None = None

    def _rng(self) -> torch.Generator:
        info = get_worker_info()
        if info is not None and self._worker_seeded != info.id:
            self.generator.manual_seed(info.seed)
            self._worker_seeded = info.id
        return self.generator

    def _randint(self, high: int) -> int:
        """Uniform integer in [0, high)."""
        return int(torch.randint(high, (1,), generator=self._rng()))


class MotionWindowDataset(_SeededDataset):
    """Random `window`-frame crops of every motion of a split (tokenizer training)."""

    def __init__(
        self,
        root: str | os.PathLike | MotionDir,
        split: str,
        window: int = 64,
        normalize: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.data = _as_motion_dir(root)
        self.window = window
        self.normalize = normalize
        self.ids: list[str] = []
        self.skipped = 0  # motions shorter than the window
        self.missing = 0  # ids listed in the split without a feature file
        for mid in self.data.ids(split):
            if not self.data.has_motion(mid):
                self.missing += 1
            elif self.data.features(mid).shape[0] < window:
                self.skipped += 1
            else:
                self.ids.append(mid)
        log.info("%s/%s: %d motions, %d shorter than %d frames skipped, %d missing",
                 self.data.root, split, len(self.ids), self.skipped, window, self.missing)
        if not self.ids:
            raise ValueError(f"{self.data.root}: no motion of split {split!r} has >= {window} frames")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> MotionSample:
        mid = self.ids[index]
        feats = self.data.features(mid)  # (T, D)
        start = self._randint(feats.shape[0] - self.window + 1)
        crop = feats[start : start + self.window]  # (window, D)
        if self.normalize:
            crop = self.data.normalizer.normalize(crop)
        return MotionSample(torch.from_numpy(np.asarray(crop, dtype=np.float32).copy()), mid)


@dataclass(frozen=True)
class _TextItem:
    """One entry of TextMotionDataset: a motion range and the captions describing it."""

    motion_id: str
    first: int
    last: int
    captions: tuple[Caption, ...]


class TextMotionDataset(_SeededDataset):
    """(caption, motion) pairs of a split, HumanML3D style (see module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike | MotionDir,
        split: str,
        min_len: int = MIN_FRAMES,
        max_len: int = MAX_FRAMES,
        unit: int = 4,
        normalize: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        if not 0 < unit <= min_len <= max_len:
            raise ValueError(f"need 0 < unit <= min_len <= max_len, got unit={unit} min_len={min_len} max_len={max_len}")
        self.data = _as_motion_dir(root)
        self.min_len, self.max_len, self.unit, self.normalize = min_len, max_len, unit, normalize
        self.items: list[_TextItem] = []
        self.skipped = 0  # ranges outside [min_len, max_len + unit)
        self.missing = 0  # ids listed without features or captions
        for mid in self.data.ids(split):
            self._add_motion(mid)
        log.info("%s/%s: %d text-motion items, %d out-of-range skipped, %d missing",
                 self.data.root, split, len(self.items), self.skipped, self.missing)
        if not self.items:
            raise ValueError(f"{self.data.root}: split {split!r} has no motion of {min_len}..{max_len} frames with captions")

    def _add_motion(self, mid: str) -> None:
        """Add the whole-motion item and one item per sub-range caption of `mid`."""
        if not self.data.has_motion(mid) or not (self.data.root / TEXTS_DIR / f"{mid}.txt").is_file():
            self.missing += 1
            return
        num_frames = self.data.features(mid).shape[0]
        whole = tuple(c for c in self.data.captions(mid) if c.whole)
        ranges = [(0, num_frames, whole)] if whole else []
        ranges += [(*c.frame_range(num_frames), (c,)) for c in self.data.captions(mid) if not c.whole]
        for first, last, caps in ranges:
            if self.min_len <= last - first < self.max_len + self.unit:
                self.items.append(_TextItem(mid, first, last, caps))
            else:
                self.skipped += 1

    def __len__(self) -> int:
        return len(self.items)

    def crop_length(self, length: int) -> int:
        """Random training length: a multiple of `unit`, one unit shorter with probability 1/3, <= max_len."""
        units = min(length, self.max_len) // self.unit
        if units > 1 and self._randint(3) == 0:
            units -= 1
        return units * self.unit

    def __getitem__(self, index: int) -> TextMotionSample:
        item = self.items[index]
        caption = item.captions[self._randint(len(item.captions))]
        feats = self.data.features(item.motion_id)[item.first : item.last]  # (T, D)
        length = self.crop_length(feats.shape[0])
        start = self._randint(feats.shape[0] - length + 1)
        crop = feats[start : start + length]  # (length, D)
        if self.normalize:
            crop = self.data.normalizer.normalize(crop)
        features = torch.from_numpy(np.asarray(crop, dtype=np.float32).copy())
        return TextMotionSample(caption.text, caption.tokens, features, item.motion_id)
