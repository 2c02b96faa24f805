"""The joint text + motion vocabulary of the motion-language model.

A text tokenizer (any local Hugging Face tokenizer directory, or one trained here on the dataset's captions)
is extended with `<motion_id_0..K-1>`, `<som>`, `<eom>` and `<mask>`. The motion tokens occupy one contiguous
range of LM ids starting at `motion_offset`, so codebook ids and LM ids convert by integer arithmetic::

    vocab = MotionVocab.build(train_text_tokenizer(captions), codebook_size=512)
    lm_ids = vocab.motion_to_lm(codes)          # codes (N,) in [0, K) -> (N,) LM ids
    codes = vocab.lm_to_motion(lm_ids)          # inverse; vocab.is_motion(lm_ids) -> bool mask
    vocab.save_pretrained(out_dir)              # tokenizer files + motiongpt.json (offsets)
    vocab = MotionVocab.from_pretrained(out_dir)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from motiongpt.utils import atomic_write_json

VOCAB_FILE = "motiongpt.json"
SOM, EOM, MASK = "<som>", "<eom>", "<mask>"
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


class VocabError(ValueError):
    """The tokenizer or its motion-token metadata is inconsistent (the message names the file / field)."""


def motion_token(k: int) -> str:
    """The string form of codebook entry k (used only to register the tokens, never parsed back)."""
    return f"<motion_id_{k}>"


def train_text_tokenizer(texts: Iterable[str], vocab_size: int = 3000, min_frequency: int = 2
                         ) -> PreTrainedTokenizerFast:
    """Train a lower-cased Unigram (SentencePiece-like) tokenizer on captions, with T5-like special tokens.

    Ids: `<pad>`=0, `</s>`=1, `<unk>`=2. Digits are split one per token so frame / second counts always
    tokenise the same way. The vocabulary may be smaller than `vocab_size` on little data.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Digits(True)])
    tok.decoder = decoders.Metaspace()
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789.,'-?!")
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK], unk_token=UNK,
                                      initial_alphabet=alphabet, shrinking_factor=0.75)
    texts = list(texts)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.model = _canonical_unigram(tok, alphabet, set("".join(texts).lower()))
    del min_frequency  # Unigram prunes by likelihood; kept for API symmetry with BPE trainers
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   model_max_length=1024)


def _canonical_unigram(tok, alphabet: Sequence[str], seen: set[str]):
    """The trained Unigram model with deterministic ids: the trainer gives the alphabet characters that never occur
    in the captions scores a hair apart in hash order, so ids changed from run to run on the same data. Those get
    one score (the lowest) and alphabetical order; every other piece keeps its score (rounded to 1e-9: summation
    order moves the last digits), sorted by it."""
    from tokenizers import models

    vocab = [(p, round(s, 9)) for p, s in json.loads(tok.to_str())["model"]["vocab"]]
    specials, pieces = vocab[:3], vocab[3:]
    unseen = sorted(p for p, _ in pieces if p in alphabet and p not in seen)
    floor = min(s for _, s in pieces)
    kept = sorted(((p, s) for p, s in pieces if p not in unseen), key=lambda v: (-v[1], v[0]))
    return models.Unigram(specials + kept + [(p, floor) for p in unseen], unk_id=2, byte_fallback=False)


def load_text_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerBase:
    """A local Hugging Face tokenizer directory (no downloads); pad falls back to eos (GPT-2 style)."""
    path = Path(path)
    if not path.is_dir():
        raise VocabError(f"{path}: tokenizer directory not found")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.eos_token_id is None:
        raise VocabError(f"{path}: tokenizer has no eos token")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


@dataclass
class MotionVocab:
    """Text tokenizer + motion tokens in one contiguous LM-id range [motion_offset, motion_offset + K)."""

    tokenizer: PreTrainedTokenizerBase
    codebook_size: int
    motion_offset: int
    text_vocab_size: int  # number of ids before the added motion tokens (rows with pre-existing meaning)

    @classmethod
    def build(cls, tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> "MotionVocab":
        """Add `<motion_id_k>`, `<som>`, `<eom>`, `<mask>` to `tokenizer` (in place) and record the offsets."""
        if codebook_size < 1:
            raise VocabError(f"codebook_size must be >= 1, got {codebook_size}")
        if tokenizer.convert_tokens_to_ids(motion_token(0)) not in (None, tokenizer.unk_token_id):
            raise VocabError("tokenizer already contains motion tokens: load it with MotionVocab.from_pretrained")
        text_size = len(tokenizer)
        new = [motion_token(k) for k in range(codebook_size)] + [SOM, EOM, MASK]
        tokenizer.add_tokens(new, special_tokens=True)
        vocab = cls(tokenizer, codebook_size, tokenizer.convert_tokens_to_ids(motion_token(0)), text_size)
        vocab.check()
        return vocab

    def check(self) -> None:
        """Verify that the motion and control tokens sit at the recorded contiguous ids."""
        expect = list(range(self.motion_offset, self.motion_offset + self.codebook_size + 3))
        got = self.tokenizer.convert_tokens_to_ids(
            [motion_token(0), motion_token(self.codebook_size - 1), SOM, EOM, MASK])
        want = [expect[0], expect[self.codebook_size - 1], self.som_id, self.eom_id, self.mask_id]
        if got != want:
            raise VocabError(f"motion tokens are not contiguous at offset {self.motion_offset}: "
                             f"ids {got}, expected {want}")

    # --- ids -------------------------------------------------------------------------------------------------
    @property
    def som_id(self) -> int:
        return self.motion_offset + self.codebook_size

    @property
    def eom_id(self) -> int:
        return self.motion_offset + self.codebook_size + 1

    @property
    def mask_id(self) -> int:
        return self.motion_offset + self.codebook_size + 2

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def size(self) -> int:
        """Number of LM ids needed (the embedding table has at least this many rows)."""
        return max(len(self.tokenizer), self.mask_id + 1)

    @property
    def special_motion_ids(self) -> tuple[int, int, int]:
        """(som, eom, mask)."""
        return self.som_id, self.eom_id, self.mask_id

    def motion_to_lm(self, codes: torch.Tensor) -> torch.Tensor:
        """Codebook ids (any shape) in [0, K) -> LM ids."""
        codes = torch.as_tensor(codes, dtype=torch.long)
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise VocabError(f"motion codes must lie in [0, {self.codebook_size}), got range "
                             f"[{int(codes.min())}, {int(codes.max())}]")
        return codes + self.motion_offset

    def lm_to_motion(self, ids: torch.Tensor) -> torch.Tensor:
        """LM ids of motion tokens (any shape) -> codebook ids; non-motion ids raise VocabError."""
        ids = torch.as_tensor(ids, dtype=torch.long)
        if not bool(self.is_motion(ids).all()):
            raise VocabError("lm_to_motion got ids that are not motion tokens")
        return ids - self.motion_offset

    def is_motion(self, ids: torch.Tensor) -> torch.Tensor:
        """Bool mask (same shape): True where an LM id is a `<motion_id_k>` token."""
        ids = torch.as_tensor(ids, dtype=torch.long)
        return (ids >= self.motion_offset) & (ids < self.motion_offset + self.codebook_size)

    def non_text_ids(self) -> torch.Tensor:
        """(K+3,) LM ids that text generation must not produce (motion, som, eom, mask)."""
        return torch.arange(self.motion_offset, self.mask_id + 1)

    # --- text ------------------------------------------------------------------------------------------------
    def encode_text(self, text: str) -> list[int]:
        """Token ids of a text piece, without special tokens (no eos)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_texts(self, texts: Sequence[str]) -> list[list[int]]:
        """Batched `encode_text`."""
        if not texts:
            return []
        return [list(x) for x in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def decode_text(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Text of LM ids; motion / control tokens and special tokens are dropped."""
        ids = torch.as_tensor(ids, dtype=torch.long).flatten()
        keep = (ids < self.motion_offset) | (ids > self.mask_id)
        return self.tokenizer.decode(ids[keep].tolist(), skip_special_tokens=True).strip()

    # --- persistence -----------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, int]:
        """The integers that define the motion-token layout (saved as motiongpt.json)."""
        return {"codebook_size": self.codebook_size, "motion_offset": self.motion_offset,
                "text_vocab_size": self.text_vocab_size, "som_id": self.som_id, "eom_id": self.eom_id,
                "mask_id": self.mask_id, "vocab_size": self.size}

    def save_pretrained(self, out_dir: str | os.PathLike, extra: dict | None = None) -> None:
        """Tokenizer files + motiongpt.json (offsets, codebook size, tokenizer path, `extra` fields)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(out_dir))
        atomic_write_json(out_dir / VOCAB_FILE, {**self.metadata(), "tokenizer": ".", **(extra or {})})

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> "MotionVocab":
        """Load a vocabulary saved by `save_pretrained` (tokenizer path resolved relative to `path`)."""
        path = Path(path)
        meta = read_metadata(path)
        tok = load_text_tokenizer(path / meta.get("tokenizer", "."))
        try:
            vocab = cls(tok, int(meta["codebook_size"]), int(meta["motion_offset"]), int(meta["text_vocab_size"]))
        except KeyError as err:
            raise VocabError(f"{path / VOCAB_FILE}: missing field {err}") from None
        vocab.check()
        return vocab


def read_metadata(path: str | os.PathLike) -> dict:
    """The motiongpt.json of a saved model / vocabulary directory."""
    file = Path(path) / VOCAB_FILE
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VocabError(f"{file}: not found (not a motiongpt LM directory)") from None
    except json.JSONDecodeError as err:
        raise VocabError(f"{file}: invalid JSON ({err})") from None
