"""Tiny fixtures for the LM tests: a caption tokenizer, a vocabulary, random motion samples, a tiny VQ-VAE."""
from __future__ import annotations

import random

import pytest
import torch

from motiongpt.lm.templates import LMSample
from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer

CODEBOOK = 16
CAPTIONS = ["a person walks forward slowly", "someone waves the right hand", "a man runs in a circle",
            "the person jumps twice", "a woman bows politely", "someone kicks with the left leg"]


@pytest.fixture()
def vocab() -> MotionVocab:
    """Text tokenizer trained on the captions + 16 motion tokens."""
    return MotionVocab.build(train_text_tokenizer(CAPTIONS * 10, vocab_size=300), CODEBOOK)


@pytest.fixture()
def samples() -> list[LMSample]:
    """Eight random motions (8..20 tokens) with captions and real frame counts."""
    rng = random.Random(0)
    out = []
    for i in range(8):
        n = rng.randint(8, 20)
        codes = torch.tensor([rng.randrange(CODEBOOK) for _ in range(n)])
        out.append(LMSample(codes, frames=4 * n + rng.randint(0, 3), caption=CAPTIONS[i % len(CAPTIONS)]))
    return out


@pytest.fixture()
def motion_tokenizer():
    """A randomly initialised tiny VQ-VAE over 263-d features with a 16-entry codebook."""
    from motiongpt.tokenizer import MotionTokenizer, TokenizerConfig

    torch.manual_seed(0)
    cfg = TokenizerConfig(codebook_size=CODEBOOK, code_dim=8, width=16, depth=1)
    return MotionTokenizer(cfg).eval()
