"""A tiny synthetic dataset in HumanML3D layout for evaluator / runner tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CAPTIONS = [
    ("a person walks forward", "a/DET person/NOUN walk/VERB forward/ADV"),
    ("a person waves the left hand", "a/DET person/NOUN wave/VERB the/DET left/ADJ hand/NOUN"),
    ("someone jumps up", "someone/PRON jump/VERB up/ADV"),
    ("a person kicks with the right foot", "a/DET person/NOUN kick/VERB with/ADP the/DET right/ADJ foot/NOUN"),
]


def write_tiny_dataset(root: Path, n: int = 48, frames: int = 48, seed: int = 0) -> Path:
    """n motions of `frames` frames whose features depend on the caption class (so they are learnable)."""
    rng = np.random.default_rng(seed)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    ids = [f"{i:04d}" for i in range(n)]
    for i, mid in enumerate(ids):
        cls = i % len(CAPTIONS)
        feats = rng.normal(size=(frames, 263)).astype(np.float32) * 0.1 + cls
        np.save(root / "new_joint_vecs" / f"{mid}.npy", feats)
        np.save(root / "new_joints" / f"{mid}.npy", rng.normal(size=(frames + 1, 22, 3)).astype(np.float32))
        text, tokens = CAPTIONS[cls]
        (root / "texts" / f"{mid}.txt").write_text(f"{text}#{tokens}#0.0#0.0\n", encoding="utf-8")
    np.save(root / "Mean.npy", np.full(263, 1.5, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    (root / "train.txt").write_text("\n".join(ids[: n // 2]) + "\n")
    (root / "val.txt").write_text("\n".join(ids[n // 2: 3 * n // 4]) + "\n")
    (root / "test.txt").write_text("\n".join(ids[3 * n // 4:]) + "\n")
    return root


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A 48-motion synthetic dataset (24 train / 12 val / 12 test)."""
    return write_tiny_dataset(tmp_path / "data")


@pytest.fixture
def tiny_t2m():
    """An untrained T2M evaluator with tiny layers (input statistics mean 1.5, std 1)."""
    import torch

    from motiongpt.eval.evaluator import EvaluatorConfig, T2MEvaluator
    from motiongpt.eval.words import Vocabulary

    torch.manual_seed(0)
    words = ["sos", "eos", "unk", "a", "person", "walk", "forward", "wave", "left", "hand", "jump", "kick"]
    vocab = Vocabulary(words, np.random.default_rng(0).normal(size=(len(words), 6)).astype(np.float32))
    cfg = EvaluatorConfig(dim_word=6, dim_text_hidden=8, dim_coemb_hidden=5, dim_movement_enc_hidden=7,
                          dim_movement_latent=9, dim_motion_hidden=10)
    return T2MEvaluator(cfg, vocab, np.full(263, 1.5, np.float32), np.ones(263, np.float32))
