"""Demo fixtures: a real Pipeline (the shipped model when present, else a tiny randomly initialised one)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import walking as synthetic_walking

from motiongpt.paths import default_model_dir

TINY_TEXTS = ["a person waves with the right hand", "a person walks forward", "someone jumps up twice"]


def tiny_pipeline():
    """A real `Pipeline` with a tiny random T5 and VQ-VAE: valid shapes, meaningless motions (seconds to build)."""
    torch = pytest.importorskip("torch")
    from motiongpt.lm.model import MotionLM
    from motiongpt.lm.pipeline import Pipeline
    from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer
    from motiongpt.tokenizer import MotionTokenizer, TokenizerConfig

    vocab = MotionVocab.build(train_text_tokenizer(TINY_TEXTS * 5, vocab_size=200), codebook_size=16)
    torch.manual_seed(0)
    vq = MotionTokenizer(TokenizerConfig(codebook_size=16, code_dim=16, width=16, depth=1))
    return Pipeline(MotionLM.from_preset("tiny", vocab, seed=0), vq, device="cpu")


@pytest.fixture(scope="session")
def demo_pipeline():
    """The default model when it exists (real demo), otherwise the tiny random pipeline."""
    pytest.importorskip("motiongpt.lm.pipeline", reason="lm.pipeline not written yet")
    model = default_model_dir()
    if (model / "lm").is_dir() and (model / "tokenizer").is_dir():
        from motiongpt.lm.pipeline import Pipeline

        return Pipeline.from_pretrained(model, device="cpu")
    return tiny_pipeline()


def walking(frames: int = 40) -> np.ndarray:
    """A small synthetic SMPL-22 motion (T, 22, 3) stepping forward along +Z (40 frames by default)."""
    return synthetic_walking(frames)


@pytest.fixture
def motion_npy(tmp_path: Path) -> Path:
    path = tmp_path / "walk.npy"
    np.save(path, walking())
    return path
