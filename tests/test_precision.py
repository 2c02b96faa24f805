"""bf16 detection, precision resolution, and bf16-vs-fp32 agreement of a tiny LM."""
import contextlib

import pytest
import torch

from motiongpt import precision as P
from motiongpt.lm.generation import parse_motion
from motiongpt.lm.model import MotionLM
from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer

LOGIT_ATOL = 0.05  # |bf16 - fp32| of a tiny T5's logits (|logits| ~ 1): bf16 keeps 8 mantissa bits
GREEDY_AGREEMENT = 0.8  # fraction of greedy tokens equal in bf16 and fp32 (same prefix forced, per position)


@pytest.mark.parametrize("flags, capability, expected", [
    ({"avx512f", "avx512_bf16"}, "AVX512", True), ({"amx_bf16", "amx_tile"}, "AVX512", True),
    ({"avx2", "avx512f"}, "AVX512", False), (set(), "AVX2", False), (set(), "AMX", True)])
def test_cpu_bf16_detection_reads_flags_and_capability(monkeypatch, flags, capability, expected):
    monkeypatch.setattr(P, "cpu_flags", lambda path="/proc/cpuinfo": frozenset(flags))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert P.cpu_supports_bf16.__wrapped__() is expected


def test_cpu_flags_parses_a_cpuinfo_file(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16 amx_bf16\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert P.cpu_flags(str(info)) == {"fpu", "sse2", "avx512_bf16", "amx_bf16"}
    assert P.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_follows_the_hardware_and_explicit_requests_win(monkeypatch, native):
    monkeypatch.setattr(P, "cpu_supports_bf16", lambda: native)
    assert P.resolve_precision("cpu", "auto") == ("bf16" if native else "fp32")
    assert P.resolve_precision("cpu", "fp32") == "fp32" and P.resolve_precision("cpu", "bf16") == "bf16"
    ctx = P.autocast_context("cpu", "auto")
    assert isinstance(ctx, torch.autocast) is native and isinstance(ctx, contextlib.nullcontext) is not native
    with P.autocast_context("cpu", "auto"):
        y = torch.nn.functional.linear(torch.randn(2, 4), torch.randn(3, 4))
    assert y.dtype == (torch.bfloat16 if native else torch.float32)
    with pytest.raises(ValueError, match="precision"):
        P.resolve_precision("cpu", "fp16")


def test_bf16_logits_and_greedy_tokens_agree_with_fp32():
    vocab = MotionVocab.build(train_text_tokenizer(["a person walks forward slowly", "someone waves"] * 10, 200), 16)
    lm = MotionLM.from_preset("tiny", vocab, seed=0).eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, vocab.text_vocab_size, (4, 12), generator=g)
    labels = torch.randint(2, vocab.size, (4, 10), generator=g)
    with torch.no_grad():
        fp32 = lm.backbone(input_ids=ids, labels=labels).logits
        with P.autocast_context("cpu", "bf16"):
            bf16 = lm.backbone(input_ids=ids, labels=labels).logits.float()
    assert (bf16 - fp32).abs().max() < LOGIT_ATOL
    assert (bf16.argmax(-1) == fp32.argmax(-1)).float().mean() >= GREEDY_AGREEMENT
    prompt = [torch.tensor(vocab.encode_text("a person walks forward slowly") + [vocab.eos_id])]
    out = lm.generate(prompt, ["motion"], [12], temperature=0.0, precision="bf16")[0]
    assert parse_motion(out, vocab).shape == (12,)  # the bf16 generation path yields a well-formed motion
