"""Dynamic-padding collation of `LMExample`s for seq2seq and causal backbones, and length bucketing.

Batches are padded to their longest member only (the original MotionGPT pads everything to 256 tokens).
Seq2seq: inputs right-padded, labels right-padded with -100. Causal: prompt + target concatenated,
right-padded, labels -100 on the prompt and padding. Generation prompts of causal models are left-padded.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from motiongpt.lm.templates import LMExample

IGNORE = -100  # label value excluded from the loss


@dataclass
class LMBatch:
    """Model inputs of one training batch."""

    input_ids: torch.Tensor  # (B, S) long
    attention_mask: torch.Tensor  # (B, S) long, 1 = real token
    labels: torch.Tensor  # (B, L) long, IGNORE where no loss (L = S for causal models)
    causal: bool = False  # True: labels align with input_ids (prompt + target in one sequence)

    def to(self, device: torch.device | str) -> "LMBatch":
        """The batch on `device`."""
        return LMBatch(self.input_ids.to(device), self.attention_mask.to(device), self.labels.to(device),
                       self.causal)

    @property
    def num_target_tokens(self) -> int:
        """Tokens that carry a loss."""
        return int((self.labels != IGNORE).sum())

    @property
    def num_tokens(self) -> int:
        """Real (non-padding) input tokens plus target tokens."""
        return int(self.attention_mask.sum()) + (0 if self.causal else self.num_target_tokens)


def pad_sequences(seqs: Sequence[torch.Tensor], value: int, left: bool = False) -> torch.Tensor:
    """(B, max_len) of 1-D sequences padded with `value` on the right (or left)."""
    width = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), width), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        if len(s):
            if left:
                out[i, width - len(s):] = s
            else:
                out[i, :len(s)] = s
    return out


def attention_from_lengths(lengths: Sequence[int], width: int, left: bool = False) -> torch.Tensor:
    """(B, width) long mask with ones over the first (or last) `lengths[i]` positions."""
    pos = torch.arange(width)[None]  # (1, W)
    n = torch.as_tensor(list(lengths), dtype=torch.long)[:, None]  # (B, 1)
    return ((pos >= width - n) if left else (pos < n)).long()


def collate_seq2seq(examples: Sequence[LMExample], pad_id: int) -> LMBatch:
    """Encoder inputs and decoder labels, each padded to the batch's longest."""
    inputs = [e.input_ids for e in examples]
    ids = pad_sequences(inputs, pad_id)
    mask = attention_from_lengths([len(s) for s in inputs], ids.shape[1])
    labels = pad_sequences([e.target_ids for e in examples], IGNORE)
    return LMBatch(ids, mask, labels)


def collate_causal(examples: Sequence[LMExample], pad_id: int) -> LMBatch:
    """Prompt + target in one right-padded sequence; only the target carries a loss."""
    seqs = [torch.cat([e.input_ids, e.target_ids]) for e in examples]
    ids = pad_sequences(seqs, pad_id)
    mask = attention_from_lengths([len(s) for s in seqs], ids.shape[1])
    labels = pad_sequences([torch.cat([torch.full_like(e.input_ids, IGNORE), e.target_ids]) for e in examples],
                           IGNORE)
    return LMBatch(ids, mask, labels, causal=True)


def collate(examples: Sequence[LMExample], pad_id: int, causal: bool) -> LMBatch:
    """Collate for the backbone kind."""
    if not examples:
        raise ValueError("collate: empty batch")
    return collate_causal(examples, pad_id) if causal else collate_seq2seq(examples, pad_id)


def bucket_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, bucket_factor: int = 20
                   ) -> Iterator[list[int]]:
    """Index batches of similar length: shuffle, sort within pools of `bucket_factor` batches, shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * bucket_factor
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    yield from batches
