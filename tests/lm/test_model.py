import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

from motiongpt.lm.batch import collate
from motiongpt.lm.generation import parse_motion
from motiongpt.lm.model import MotionLM, init_new_rows
from motiongpt.lm.templates import build_example, load_tasks


def _examples(vocab, samples, names=("t2m", "m2t", "m2m_predict")):
    rng = random.Random(0)
    tasks = load_tasks()
    return [build_example(tasks[n], s, vocab, rng) for n in names for s in samples]


def _fit(lm, batch, steps=40, lr=3e-3):
    opt = torch.optim.AdamW(lm.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = lm(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("preset", ["tiny", "gpt2-tiny", "llama-tiny"])
def test_loss_falls_and_generation_stays_in_range(preset, vocab, samples):
    lm = MotionLM.from_preset(preset, vocab, dropout=0.0, seed=0)
    batch = collate(_examples(vocab, samples), vocab.pad_id, lm.causal)
    losses = _fit(lm, batch)
    assert losses[-1] < 0.6 * losses[0]
    prompts = [e.input_ids for e in _examples(vocab, samples[:3], names=("t2m",))]
    out = lm.generate(prompts, ["motion"] * 3, [4, 9, None], seed=0)
    codes = [parse_motion(o, vocab) for o in out]
    assert [len(c) for c in codes[:2]] == [4, 9]
    assert all(int(c.min()) >= 0 and int(c.max()) < vocab.codebook_size for c in codes)


@pytest.mark.parametrize("preset", ["tiny", "gpt2-tiny"])
def test_batched_generation_matches_single(preset, vocab, samples):
    lm = MotionLM.from_preset(preset, vocab, dropout=0.0, seed=0)
    prompts = [e.input_ids for e in _examples(vocab, samples[:3], names=("m2t",))]
    batched = lm.generate(prompts, ["text"] * 3, [None] * 3, temperature=0.0, max_new_tokens=8)
    single = [lm.generate([p], ["text"], [None], temperature=0.0, max_new_tokens=8)[0] for p in prompts]
    for b, s in zip(batched, single):
        assert b[:len(s)].tolist() == s.tolist()


def test_save_reload_same_generation_and_hf_layout(vocab, samples, tmp_path):
    lm = MotionLM.from_preset("tiny", vocab, seed=0)
    prompts = [e.input_ids for e in _examples(vocab, samples[:2], names=("t2m",))]
    before = lm.generate(prompts, ["motion"] * 2, [6, 6], seed=3)
    lm.save_pretrained(tmp_path / "lm")
    again = MotionLM.from_pretrained(tmp_path / "lm")
    after = again.generate(prompts, ["motion"] * 2, [6, 6], seed=3)
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert (tmp_path / "lm" / "model.safetensors").is_file() and (tmp_path / "lm" / "motiongpt.json").is_file()
    assert AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "lm").config.vocab_size == vocab.size


def test_pretrained_backbone_gets_motion_rows(vocab, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    base = GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=vocab.text_vocab_size))
    base.save_pretrained(tmp_path / "gpt2")
    lm = MotionLM.from_backbone_dir(tmp_path / "gpt2", vocab)
    emb = lm.backbone.get_input_embeddings().weight
    assert emb.shape[0] == vocab.size and lm.causal
    assert torch.isfinite(emb).all() and not torch.allclose(emb[vocab.som_id], emb[vocab.eom_id])
    lm.save_pretrained(tmp_path / "out")
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "out").config.vocab_size == vocab.size


def test_init_new_rows_matches_old_statistics():
    w = torch.randn(200, 8) * 3 + 1
    init_new_rows(w, 100, torch.Generator().manual_seed(0))
    assert torch.allclose(w[100:].mean(0), w[:100].mean(0), atol=1.0)


def test_input_corruption_replaces_only_motion_ids_and_only_while_training(vocab):
    lm = MotionLM.from_preset("tiny", vocab, seed=0)
    text = torch.tensor(vocab.encode_text("a person walks"))
    ids = torch.cat([text, vocab.motion_to_lm(torch.arange(16).repeat(40))]).repeat(2, 1)
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[0] = True
    lm.input_corruption = 0.3
    torch.manual_seed(0)
    out = lm.corrupt(ids, where)
    changed = out != ids
    assert not changed[1].any() and not changed[0, :len(text)].any()
    assert 0.2 < changed[0].float().mean() < 0.3 and vocab.is_motion(out[0, len(text):]).all()
    assert torch.equal(lm.eval().corrupt(ids, where), ids)


@pytest.mark.parametrize("preset", ["tiny", "gpt2-tiny"])
def test_corrupted_teacher_forcing_keeps_the_loss_when_nothing_is_hit(preset, vocab, samples):
    lm = MotionLM.from_preset(preset, vocab, dropout=0.0, seed=0).train()
    batch = collate(_examples(vocab, samples), vocab.pad_id, lm.causal)
    plain = lm(batch)
    lm.input_corruption = 1e-12  # the explicit decoder input path, no id replaced
    assert torch.allclose(lm(batch), plain)
    lm.input_corruption = 0.4
    assert not torch.allclose(lm(batch), plain)
