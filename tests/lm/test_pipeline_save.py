"""Pipeline.save_pretrained writes a directory that from_pretrained reads back to the same generations."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from motiongpt.lm.model import MotionLM
from motiongpt.lm.pipeline import Pipeline


def test_save_and_reload_same_generation(vocab, motion_tokenizer, tmp_path: Path) -> None:
    tiny_pipeline = Pipeline(MotionLM.from_preset("tiny", vocab, seed=0), motion_tokenizer, device="cpu")
    out = tiny_pipeline.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in out.iterdir()) == ["lm", "tokenizer"]
    again = Pipeline.from_pretrained(out, device="cpu")
    a = tiny_pipeline.text_to_motion(["a person walks"], lengths=[40], seed=3)[0]
    b = again.text_to_motion(["a person walks"], lengths=[40], seed=3)[0]
    assert a.ok and b.ok
    np.testing.assert_allclose(a.features, b.features, atol=1e-5)
    assert not list(tmp_path.glob(".*")), "staging directories left behind"
