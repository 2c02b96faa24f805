"""Constrained decoding and parsing of generated LM ids.

`GrammarProcessor` is a Hugging Face `LogitsProcessor` that keeps every row of a batch well formed:

- "motion" rows: `<som>`, then only motion tokens until the requested count (or, without one, between 1 and
  `max_motion` tokens, the model choosing when to stop), then `<eom>`, then eos;
- "text" rows: never motion / control tokens;
- "chat" rows: text with at most one well-formed `<som> .. <eom>` motion span.

`parse_motion` / `parse_text` turn generated ids into codebook ids / text, raising `GenerationError` (a typed
error with a clear message) for malformed output instead of returning garbage.
"""
from __future__ import annotations

from typing import Sequence

import torch
from transformers import LogitsProcessor

from motiongpt.lm.vocab import MotionVocab

MODES = ("text", "motion", "chat")


class GenerationError(RuntimeError):
    """The model produced output that cannot be read as the requested kind (message says why)."""


def check_modes(modes: Sequence[str], lengths: Sequence[int | None]) -> None:
    """ValueError unless every mode is one of MODES and there is one length per mode."""
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown generation modes {bad}, expected {MODES}")
    if len(lengths) != len(modes):
        raise ValueError(f"{len(modes)} modes but {len(lengths)} lengths")


class GrammarProcessor(LogitsProcessor):
    """Per-row decoding grammar; `prompt_len` is the number of ids before the first generated one."""

    def __init__(self, vocab: MotionVocab, modes: Sequence[str], lengths: Sequence[int | None], prompt_len: int,
                 max_motion: int) -> None:
        check_modes(modes, lengths)
        self.vocab = vocab
        self.prompt_len = prompt_len
        mode_ids = torch.tensor([MODES.index(m) for m in modes])
        self.is_text = mode_ids == 0  # (B,)
        self.is_motion = mode_ids == 1
        n = torch.tensor([0 if x is None else int(x) for x in lengths])
        self.min_run = torch.where(n > 0, n, torch.ones_like(n))  # (B,)
        self.max_run = torch.where(n > 0, n, torch.full_like(n, max_motion))
        motion_ids = torch.arange(vocab.motion_offset, vocab.motion_offset + vocab.codebook_size)
        self._rows: dict[str, torch.Tensor] = {  # named id sets, turned into (1, V) bool rows by _row
            "non_text": vocab.non_text_ids(),
            "chat_ban": torch.cat([motion_ids, torch.tensor([vocab.eom_id, vocab.mask_id])]),
            "motion": motion_ids, "eom": torch.tensor([vocab.eom_id]), "som": torch.tensor([vocab.som_id]),
            "eos": torch.tensor([vocab.eos_id])}
        self._cache: dict[tuple[tuple[int, str], str], torch.Tensor] = {}

    def _row(self, name: str, scores: torch.Tensor) -> torch.Tensor:
        """(1, V) bool row of the id set `name` for scores of this width / device (cached)."""
        key = (scores.shape[1], str(scores.device))
        if (key, name) not in self._cache:
            self._cache[(key, name)] = _onehot(self._rows[name], scores)
        return self._cache[(key, name)]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """scores (B', V) with disallowed ids at -inf; B' is a multiple of the row count (num_beams / samples)."""
        reps = scores.shape[0] // len(self.is_text)
        gen = input_ids[:, self.prompt_len:]  # (B', k) generated so far
        v, dev = self.vocab, scores.device
        som_seen = (gen == v.som_id).any(1)
        eom_seen = (gen == v.eom_id).any(1)
        run = v.is_motion(gen).sum(1)
        is_text, is_motion, min_run, max_run = (x.repeat_interleave(reps).to(dev) for x in (
            self.is_text, self.is_motion, self.min_run, self.max_run))
        text_like = is_text | (~is_motion & eom_seen)  # text rows, chat rows after their motion
        chat_before = ~is_text & ~is_motion & ~som_seen
        allowed = ~((text_like[:, None] & self._row("non_text", scores))
                    | (chat_before[:, None] & self._row("chat_ban", scores)))  # (B', V)
        if v.pad_id != v.eos_id:
            allowed[:, v.pad_id] = False  # padding is never generated (finished rows are padded by HF)
        allowed = torch.where((is_motion & ~som_seen)[:, None], self._row("som", scores), allowed)
        allowed = torch.where((is_motion & eom_seen)[:, None], self._row("eos", scores), allowed)
        motion_ok = self._row("motion", scores) & (run < max_run)[:, None]
        eom_ok = self._row("eom", scores) & (run >= min_run)[:, None]
        allowed = torch.where((som_seen & ~eom_seen)[:, None], motion_ok | eom_ok, allowed)
        return scores.masked_fill(~allowed, float("-inf"))


def _onehot(ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """(1, V) bool row marking `ids`."""
    row = torch.zeros(1, scores.shape[1], dtype=torch.bool, device=scores.device)
    row[0, ids.to(scores.device)] = True
    return row


def strip_generated(ids: torch.Tensor, vocab: MotionVocab) -> torch.Tensor:
    """Generated ids up to (excluding) the first eos, without padding."""
    ids = torch.as_tensor(ids, dtype=torch.long).flatten()
    eos = (ids == vocab.eos_id).nonzero()
    if len(eos):
        ids = ids[:int(eos[0])]
    return ids[ids != vocab.pad_id] if vocab.pad_id != vocab.eos_id else ids


def find_motion_span(ids: torch.Tensor, vocab: MotionVocab) -> tuple[int, int] | None:
    """(som index, eom index) of the first motion span, None when there is no `<som>`."""
    som = (ids == vocab.som_id).nonzero()
    if not len(som):
        return None
    start = int(som[0])
    eom = (ids[start:] == vocab.eom_id).nonzero()
    return start, (start + int(eom[0]) if len(eom) else -1)


def parse_motion(ids: torch.Tensor, vocab: MotionVocab) -> torch.Tensor:
    """Codebook ids (n,) of the first `<som> .. <eom>` span of generated ids; GenerationError if malformed."""
    ids = strip_generated(ids, vocab)
    span = find_motion_span(ids, vocab)
    if span is None:
        kind = "text" if len(ids) and not bool(vocab.is_motion(ids).any()) else "no start-of-motion token"
        raise GenerationError(f"expected a motion but the model produced {kind}: {vocab.decode_text(ids)!r}")
    start, end = span
    if end < 0:
        raise GenerationError(f"motion has no end-of-motion token ({len(ids) - start - 1} tokens generated)")
    body = ids[start + 1:end]
    if not len(body):
        raise GenerationError("motion span is empty (<som> directly followed by <eom>)")
    if not bool(vocab.is_motion(body).all()):
        raise GenerationError("motion span contains non-motion tokens")
    return vocab.lm_to_motion(body)


def parse_text(ids: torch.Tensor, vocab: MotionVocab) -> str:
    """Text of generated ids; GenerationError when it is empty or contains motion tokens."""
    ids = strip_generated(ids, vocab)
    if bool(vocab.is_motion(ids).any()) or bool((ids == vocab.som_id).any()):
        raise GenerationError("expected text but the model produced motion tokens")
    text = vocab.decode_text(ids)
    if not text:
        raise GenerationError("the model produced empty text")
    return text


def parse_chat(ids: torch.Tensor, vocab: MotionVocab) -> tuple[str, torch.Tensor | None]:
    """(text outside the motion span, codebook ids of the span or None); GenerationError if the span is broken."""
    ids = strip_generated(ids, vocab)
    span = find_motion_span(ids, vocab)
    if span is None:
        if bool(vocab.is_motion(ids).any()):
            raise GenerationError("motion tokens outside a <som> .. <eom> span")
        return vocab.decode_text(ids), None
    codes = parse_motion(ids, vocab)
    text_ids = torch.cat([ids[:span[0]], ids[span[1] + 1:]])
    return vocab.decode_text(text_ids), codes
