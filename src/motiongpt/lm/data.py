"""Training data of the LM stages: captions of a HumanML3D-layout directory + cached motion token ids.

Token ids come from `motiongpt tokenize` (`<tokens>/<id>.npy`, shape (N,) or (R, N) for R variants; the motion
tokenizer stays frozen). Each draw picks a caption, a task among the stage's tasks (those the sample can
serve) and a phrasing, all from Python's `random` state, which the training engine seeds per sample::

    ds = LMDataset("data/bandai", "data/bandai/tokens/vq_cpu", "train", tasks_for(INSTRUCT_TASKS), vocab)
    ex = ds[0]                                   # LMExample(input_ids (S,), target_ids (L,), task)
"""
from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from motiongpt.data.layout import FEATURES_DIR, Caption, MotionDir
from motiongpt.lm.templates import LMExample, LMSample, Task, build_example
from motiongpt.lm.vocab import MotionVocab

log = logging.getLogger(__name__)

PRETRAIN_TASKS = ("pretrain_t2m", "pretrain_m2t", "pretrain_span")
INSTRUCT_TASKS = ("t2m", "t2m_frames", "t2m_seconds", "t2m_length_only", "t2m_unconditional", "m2t", "m2t_length",
                  "m2t_frames", "m2t_seconds", "t2t_length", "t2t_caption", "t2t_random", "m2m_predict",
                  "m2m_inbetween")
STAGE_TASKS = {"pretrain": PRETRAIN_TASKS, "instruct": INSTRUCT_TASKS}


@dataclass
class MotionItem:
    """One motion of the split: its captions, cached codes (R, N) and real length in frames."""

    motion_id: str
    captions: list[Caption]
    codes: np.ndarray  # (R, N) int
    frames: int


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
    """Motions of `split` that have cached tokens (missing ones are counted and logged)."""
    mdir, tokens_dir = MotionDir(root), Path(tokens_dir)
    if not tokens_dir.is_dir():
        raise FileNotFoundError(f"{tokens_dir}: token cache not found (run `motiongpt tokenize` first)")
    items, missing = [], 0
    for mid in mdir.ids(split):
        path = tokens_dir / f"{mid}.npy"
        if not path.is_file():
            missing += 1
            continue
        frames = int(np.load(mdir.root / FEATURES_DIR / f"{mid}.npy", mmap_mode="r").shape[0])
        items.append(MotionItem(mid, mdir.captions(mid), load_codes(path, codebook_size), frames))
    if missing:
        log.warning("%s: %d of %d %s motions have no cached tokens and are skipped", tokens_dir, missing,
                    missing + len(items), split)
    if not items:
        raise ValueError(f"{tokens_dir}: no cached tokens for any motion of split {split!r} in {root}")
    return items


def sample_of(item: MotionItem, rng: random.Random, frames_per_token: int = 4) -> LMSample:
    """A random caption of `item` with its (cropped, for sub-range captions) codes and frame count."""
    caption = rng.choice(item.captions)
    codes = item.codes[rng.randrange(len(item.codes))]
    first, last = caption.frame_range(item.frames)
    if not caption.whole and last - first >= frames_per_token:
        codes = codes[first // frames_per_token:last // frames_per_token]
        return LMSample(torch.from_numpy(codes.astype(np.int64)), last - first, caption.text)
    return LMSample(torch.from_numpy(codes.astype(np.int64)), item.frames, caption.text)


class LMDataset(Dataset):
    """One (input, target) example per draw: random caption, task and phrasing of motion `index`."""

    def __init__(self, root: str | os.PathLike, tokens_dir: str | os.PathLike, split: str, tasks: Sequence[Task],
                 vocab: MotionVocab, items: list[MotionItem] | None = None) -> None:
        if not tasks:
            raise ValueError("LMDataset needs at least one task")
        self.items = items if items is not None else load_items(root, tokens_dir, split, vocab.codebook_size)
        self.tasks = list(tasks)
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.items)

    def example(self, index: int, rng: random.Random) -> LMExample:
        """The example of motion `index` drawn with `rng`."""
        sample = sample_of(self.items[index], rng)
        usable = [t for t in self.tasks if len(sample.codes) >= t.min_motion_tokens]
        if not usable:
            raise ValueError(f"motion {self.items[index].motion_id}: too short ({len(sample.codes)} tokens) for "
                             f"tasks {[t.name for t in self.tasks]}")
        return build_example(rng.choice(usable), sample, self.vocab, rng)

    def __getitem__(self, index: int) -> LMExample:
        return self.example(index, random.Random(random.getrandbits(64)))

    def captions(self) -> list[str]:
        """All caption texts (for training a text tokenizer)."""
        return [c.text for item in self.items for c in item.captions]
