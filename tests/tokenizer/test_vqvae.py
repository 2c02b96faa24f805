"""VQ-VAE invariants: exact batched encode, decode of codes = quantised output, EMA codebook, dead-code reset,
state_dict / save_pretrained round trips, clear shape errors."""
from __future__ import annotations

import copy

import pytest
import torch

from motiongpt.data.datasets import MotionBatch
from motiongpt.tokenizer.quantizer import EMAQuantizer
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig, blend_decoders

CFG = TokenizerConfig(codebook_size=16, code_dim=8, width=16, depth=2)


def _tokenizer(seed: int = 0) -> MotionTokenizer:
    torch.manual_seed(seed)
    return MotionTokenizer(CFG, mean=torch.randn(263) * 0.1, std=torch.rand(263) + 0.5)


def _batch(b: int = 3, t: int = 32) -> MotionBatch:
    g = torch.Generator().manual_seed(1)
    return MotionBatch(torch.randn(b, t, 263, generator=g), torch.full((b,), t), ["x"] * b)


def test_token_lengths_and_batched_encode_equals_single():
    tok = _tokenizer()
    tok.train()
    tok.training_loss(_batch())  # initialise the codebook
    tok.eval()
    feats = torch.randn(3, 41, 263)
    lengths = [41, 17, 30]
    ids = tok.encode(feats, lengths)
    assert [len(i) for i in ids] == [10, 4, 7]
    for row, n in enumerate(lengths):
        assert torch.equal(ids[row], tok.encode(feats[row : row + 1, :n], [n])[0])


def test_decoding_codes_reproduces_quantised_forward():
    tok = _tokenizer()
    tok.train()
    tok.training_loss(_batch())
    tok.eval()
    batch = _batch(2, 24)
    with torch.no_grad():
        out = tok(batch.features, batch.lengths)
    recon, lengths = tok.decode(out.codes)
    assert lengths.tolist() == [24, 24]
    assert torch.allclose(recon, tok.denormalize(out.recon), atol=1e-5)


def test_decode_pads_and_zeroes_short_sequences():
    tok = _tokenizer().eval()
    recon, lengths = tok.decode([torch.tensor([1, 2, 3]), torch.tensor([4])])
    assert recon.shape == (2, 12, 263) and lengths.tolist() == [12, 4]
    assert recon[1, 4:].abs().max() == 0
    with pytest.raises(ValueError, match=r"ids\[0\]"):
        tok.decode([torch.tensor([16])])


def test_ema_keeps_codebook_equal_to_sum_over_count_and_resets_dead_codes():
    torch.manual_seed(0)
    q = EMAQuantizer(codebook_size=8, code_dim=4, mu=0.5).train()
    x = torch.randn(64, 4)
    q(x)
    assert bool(q.initted)
    q.codebook[3] = 100.0  # code 3 can no longer win: it dies and must be reset to an encoder output
    q.code_sum[3] = 100.0
    for _ in range(3):
        out = q(x)
    assert torch.allclose(q.codebook, q.code_sum / q.code_count[:, None], atol=1e-6)
    assert q.codebook[3].abs().max() < 10
    assert (q.code_count >= 1.0 - 1e-6).all()
    assert 1.0 <= float(out.perplexity) <= 8.0 and 0 < float(out.usage) <= 1


def test_encode_does_not_touch_the_codebook():
    tok = _tokenizer()
    tok.train()
    tok.training_loss(_batch())
    before = tok.quantizer.codebook.clone()
    tok.encode(torch.randn(1, 16, 263))
    assert torch.equal(before, tok.quantizer.codebook)


def test_training_loss_terms_and_gradients():
    tok = _tokenizer()
    cfg = TokenizerConfig(codebook_size=16, code_dim=8, width=16, depth=2, lambda_joints=1.0)
    tok_j = MotionTokenizer(cfg)
    for model in (tok, tok_j):
        loss, stats = model.training_loss(_batch())
        loss.backward()
        assert torch.isfinite(loss) and {"recon", "ric", "commit", "perplexity", "usage"} <= set(stats)
        assert all(p.grad is not None for p in model.parameters())
    assert "joints" in tok_j.training_loss(_batch())[1]


def test_state_dict_and_pretrained_round_trip(tmp_path):
    tok = _tokenizer()
    tok.train()
    tok.training_loss(_batch())
    tok.save_pretrained(tmp_path / "tok")
    again = MotionTokenizer.from_pretrained(tmp_path / "tok")
    for name, value in tok.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name
    assert bool(again.quantizer.initted) and again.downsample == 4
    fresh = MotionTokenizer(CFG)
    fresh.load_state_dict(tok.state_dict())
    tok.eval()
    feats = torch.randn(1, 20, 263)
    assert torch.equal(fresh.eval().encode(feats)[0], tok.encode(feats)[0])


def test_clear_errors():
    tok = _tokenizer().eval()
    with pytest.raises(ValueError, match=r"features must be \(B, T, 263\)"):
        tok.encode(torch.randn(1, 20, 10))
    with pytest.raises(ValueError, match="lengths must lie"):
        tok.encode(torch.randn(1, 20, 263), [2])
    with pytest.raises(ValueError, match="mean has shape"):
        MotionTokenizer(CFG, mean=torch.zeros(5))
    with pytest.raises(FileNotFoundError, match="config.json"):
        MotionTokenizer.from_pretrained("/nonexistent")


def test_blend_decoders_interpolates_only_the_decoder_and_keeps_token_ids():
    base = _tokenizer()
    base.train()
    base.training_loss(_batch())  # initialise the codebook
    base.eval()
    tuned = copy.deepcopy(base)
    with torch.no_grad():
        for p in tuned.decoder.parameters():
            p.add_(torch.randn_like(p))
    half = blend_decoders(base, tuned, 0.5)
    for (name, a), b, h in zip(base.decoder.state_dict().items(), tuned.decoder.state_dict().values(),
                               half.decoder.state_dict().values()):
        assert torch.allclose(h, (a + b) / 2) if a.is_floating_point() else torch.equal(h, a), name
    feats = _batch().features
    assert all(torch.equal(x, y) for x, y in zip(half.encode(feats), base.encode(feats)))
    assert torch.equal(blend_decoders(base, tuned, 0.0).decode(base.encode(feats))[0], base.decode(base.encode(feats))[0])
    assert torch.equal(blend_decoders(base, tuned, 1.0).decode(base.encode(feats))[0], tuned.decode(base.encode(feats))[0])


def test_blend_decoders_refuses_other_tokenizers():
    base, other = _tokenizer(0), _tokenizer(1)
    with pytest.raises(ValueError, match="only a decoder-only fine-tune"):
        blend_decoders(base, other, 0.5)
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\]"):
        blend_decoders(base, base, 1.5)
