"""Training data of the LM stages: captions of a HumanML3D-layout directory + cached motion token ids.

Token ids come from `motiongpt tokenize` (`<tokens>/<id>.npy`, shape (N,) or (R, N) for R variants; the motion
tokenizer stays frozen). The tasks of each stage are those `templates.json` declares for it (`STAGE_TASKS`).
Each motion's root track (x, z, yaw per frame, integrated once at load time from `new_joint_vecs`) lets cut
functions tell where one part of the motion stands relative to another (the in-between end-clip offset).
Each draw picks a caption, a task among the stage's tasks (those the sample can serve, by declared weight), a
second motion for follow-up turns and a phrasing, all from Python's `random` state, which the training engine
seeds per sample. `order` lists the item of each dataset position: `balanced_order` repeats the motions of rare
action labels (Bandai set 1 has 2-28 training motions per label, set 2 300-500) so that labels are drawn more
evenly (`data.balance` of the LM stage config)::

    ds = LMDataset("data/bandai", "data/bandai/tokens/vq_cpu", "train", tasks_for(INSTRUCT_TASKS), vocab)
    ex = ds[0]                                   # LMExample(input_ids (S,), target_ids (L,), task)
"""
from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from motiongpt.data.labels import MotionLabel, balanced_positions
from motiongpt.data.layout import FEATURES_DIR, Caption, MotionDir
from motiongpt.data.requests import add_typo, request_caption
from motiongpt.lm.templates import STAGES, LMExample, LMSample, Task, build_example, stage_tasks
from motiongpt.lm.vocab import MotionVocab
from motiongpt.motion.trajectory import root_track

log = logging.getLogger(__name__)

STAGE_TASKS = {stage: stage_tasks(stage) for stage in STAGES}  # declared in templates.json
PRETRAIN_TASKS = STAGE_TASKS["pretrain"]
INSTRUCT_TASKS = STAGE_TASKS["instruct"]


@dataclass
class MotionItem:
    """One motion of the split: its captions, cached codes (R, N), real length in frames and root track."""

    motion_id: str
    captions: list[Caption]
    codes: np.ndarray  # (R, N) int
    frames: int
    track: np.ndarray | None = None  # (frames, 3) root x, z, yaw (None when the features are unusable)


def load_codes(path: Path, codebook_size: int) -> np.ndarray:
    """Cached token ids (R, N) of one motion, checked against the codebook size."""
    try:
        codes = np.load(path)
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: cannot read token ids ({err})") from None
    codes = codes[None] if codes.ndim == 1 else codes
    if codes.ndim != 2 or codes.shape[1] == 0 or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"{path}: expected integer token ids of shape (N,) or (R, N), got {codes.dtype} {codes.shape}")
    if codes.min() < 0 or codes.max() >= codebook_size:
        raise ValueError(f"{path}: token ids in [{codes.min()}, {codes.max()}] exceed the codebook size "
                         f"{codebook_size} (check data.codebook_size)")
    return codes


def load_items(root: str | os.PathLike, tokens_dir: str | os.PathLike, split: str, codebook_size: int
               ) -> list[MotionItem]:
    """Motions of `split` that have cached tokens (missing ones are counted and logged).

    `split` may join several split lists with '+', e.g. "train+train_composed".
    """
    mdir, tokens_dir = MotionDir(root), Path(tokens_dir)
    if not tokens_dir.is_dir():
        raise FileNotFoundError(f"{tokens_dir}: token cache not found (run `motiongpt tokenize` first)")
    items, missing = [], 0
    for mid in [i for name in split.split("+") for i in mdir.ids(name)]:
        path = tokens_dir / f"{mid}.npy"
        if not path.is_file():
            missing += 1
            continue
        features = np.load(mdir.root / FEATURES_DIR / f"{mid}.npy")
        items.append(MotionItem(mid, mdir.captions(mid), load_codes(path, codebook_size), int(features.shape[0]),
                                track_of(features)))
    if missing:
        log.warning("%s: %d of %d %s motions have no cached tokens and are skipped", tokens_dir, missing,
                    missing + len(items), split)
    if not items:
        raise ValueError(f"{tokens_dir}: no cached tokens for any motion of split {split!r} in {root}")
    return items


def track_of(features: np.ndarray) -> np.ndarray | None:
    """Root track (T, 3) float32 of raw features (T, D), None for features without a usable root."""
    if features.ndim != 2 or len(features) < 2 or not np.isfinite(features).all():
        return None
    try:
        return root_track(features).astype(np.float32)
    except (KeyError, ValueError):
        return None


def sample_of(item: MotionItem, rng: random.Random, frames_per_token: int = 4, crop: float = 0.0,
              extend: float = 0.0) -> LMSample:
    """A random caption of `item` with its (cropped, for sub-range captions) codes, frame count and root track;
    whole-motion captions lose up to `crop` of the tokens from the two ends (`length_crop`), then gain up to
    `extend` by holding the first and last token (`length_extend`)."""
    caption = rng.choice(item.captions)
    codes = item.codes[rng.randrange(len(item.codes))]
    first, last = caption.frame_range(item.frames)
    if not caption.whole and last - first >= frames_per_token:
        codes = codes[first // frames_per_token:last // frames_per_token]
        track = item.track[first:last] if item.track is not None else None
        return LMSample(torch.from_numpy(codes.astype(np.int64)), last - first, caption.text, track)
    sample = LMSample(torch.from_numpy(codes.astype(np.int64)), item.frames, caption.text, item.track)
    sample = length_crop(sample, rng, crop, frames_per_token) if crop > 0 else sample
    return length_extend(sample, rng, extend, frames_per_token) if extend > 0 else sample


def length_crop(sample: LMSample, rng: random.Random, fraction: float, frames_per_token: int = 4) -> LMSample:
    """`sample` without k ~ U{0..floor(fraction * N)} of its N tokens, split at random between the two ends (frame
    count and root track cut to match): one motion then teaches the action at several lengths, so a request a
    few tokens longer or shorter than the only take of a rare action still gets that action (T2M-GPT's crop)."""
    n = len(sample.codes)
    k = rng.randint(0, int(fraction * n))
    if k == 0:
        return sample
    start, kept = rng.randint(0, k), n - k
    first, frames = start * frames_per_token, kept * frames_per_token
    track = sample.track[first:first + frames] if sample.track is not None else None
    return LMSample(sample.codes[start:start + kept], frames, sample.caption, track)


def length_extend(sample: LMSample, rng: random.Random, fraction: float, frames_per_token: int = 4) -> LMSample:
    """`sample` with k ~ U{0..floor(fraction * N)} tokens added, split at random between repeats of its first token
    before it and of its last token after it (the clips start and end at rest; the root track holds its end
    values): the longer-than-recorded counterpart of `length_crop`."""
    n = len(sample.codes)
    k = rng.randint(0, int(fraction * n))
    if k == 0:
        return sample
    before = rng.randint(0, k)
    codes = torch.cat([sample.codes[:1].repeat(before), sample.codes, sample.codes[-1:].repeat(k - before)])
    track = sample.track
    if track is not None:
        track = np.pad(track, ((before * frames_per_token, (k - before) * frames_per_token), (0, 0)), mode="edge")
    return LMSample(codes, sample.frames + k * frames_per_token, sample.caption, track)


def balanced_order(items: Sequence[MotionItem], labels: dict[str, MotionLabel], power: float) -> list[int]:
    """Item index per dataset position, each motion repeated so that a label with n motions is drawn in
    proportion to n^(1 - power) (`data.labels.balanced_repeats`); motions without a label form one group."""
    return balanced_positions([it.motion_id for it in items], labels, power)


@dataclass(frozen=True)
class CaptionNoise:
    """Training-time rephrasing of captions the model only reads: a share `rewrite` of them replaced by an everyday
    request composed from the motion's action label (`labels`: motion id -> content; unlabelled motions keep
    theirs), then a share `typos` given one misspelt word (`data.requests`)."""

    rewrite: float = 0.0
    typos: float = 0.0
    labels: Mapping[str, str] | None = None

    def __call__(self, caption: str, motion_id: str, rng: random.Random) -> str:
        label = (self.labels or {}).get(motion_id)
        if label is not None and rng.random() < self.rewrite:
            caption = request_caption(label, rng)
        return add_typo(caption, rng) if rng.random() < self.typos else caption


class LMDataset(Dataset):
    """One (input, target) example per draw: random caption, task and phrasing of the motion at position `index`
    (`order[index]`; every motion once when `order` is None), whole motions cropped by up to `crop` (`length_crop`) and
    lengthened by up to `extend` (`length_extend`), captions the task only reads rephrased by `noise`."""

    def __init__(self, root: str | os.PathLike, tokens_dir: str | os.PathLike, split: str, tasks: Sequence[Task],
                 vocab: MotionVocab, items: list[MotionItem] | None = None, order: Sequence[int] | None = None,
                 crop: float = 0.0, extend: float = 0.0, noise: CaptionNoise | None = None) -> None:
        if not tasks:
            raise ValueError("LMDataset needs at least one task")
        self.items = items if items is not None else load_items(root, tokens_dir, split, vocab.codebook_size)
        self.order = list(order) if order is not None else list(range(len(self.items)))
        if self.order and not 0 <= min(self.order) <= max(self.order) < len(self.items):
            raise ValueError(f"LMDataset: order indexes outside the {len(self.items)} motions")
        for name, value in (("crop", crop), ("extend", extend)):
            if not 0 <= value < 0.5:
                raise ValueError(f"LMDataset: {name} {value} is not in [0, 0.5)")
        self.tasks, self.vocab, self.crop, self.extend, self.noise = list(tasks), vocab, crop, extend, noise
        self.needs_other = any("other" in t.needs for t in self.tasks)

    def __len__(self) -> int:
        return len(self.order)

    def example(self, index: int, rng: random.Random) -> LMExample:
        """The example of dataset position `index` drawn with `rng`."""
        index = self.order[index]
        sample = sample_of(self.items[index], rng, crop=self.crop, extend=self.extend)
        if self.needs_other and len(self.items) > 1:
            other = rng.randrange(len(self.items) - 1)
            sample.other = sample_of(self.items[other + (other >= index)], rng, crop=self.crop,
                                     extend=self.extend)
        usable = [t for t in self.tasks if t.serves(sample)]
        if not usable:
            raise ValueError(f"motion {self.items[index].motion_id}: cannot serve any of the tasks "
                             f"{[t.name for t in self.tasks]} ({self.tasks[0].unmet(sample)})")
        task = rng.choices(usable, weights=[t.weight for t in usable])[0]
        if self.noise is not None and task.reads_caption_only:
            sample = replace(sample, caption=self.noise(sample.caption, self.items[index].motion_id, rng))
        return build_example(task, sample, self.vocab, rng)

    def __getitem__(self, index: int) -> LMExample:
        return self.example(index, random.Random(random.getrandbits(64)))

    def captions(self) -> list[str]:
        """All caption texts (for training a text tokenizer)."""
        return [c.text for item in self.items for c in item.captions]
