"""Lean constrained decoding for `MotionLM`: the fast path behind `MotionLM.generate(backend="lean")`.

One loop for encoder-decoder (T5, BERT2BERT `EncoderDecoderModel`) and decoder-only (GPT-2, Llama, ...)
backbones: the encoder (or the prompt) runs once, each step feeds one token per row through the decoder
stack with a KV cache (T5 and BERT decoders: hand-written steps over packed weights, see below; other backbones:
transformers' decoder with its `DynamicCache`), and the output projection is applied only to the ids the
batch can produce (the motion-id range for all-motion batches: ~500 columns instead of the ~30k text
vocabulary). The grammar of `motiongpt.lm.generation.GrammarProcessor` is kept as a per-row phase (a few
tensor ops per step, no Python per-row loop) that indexes a precomputed table of additive masks; forced
tokens (`<som>`, `<eom>`, eos, padding of finished rows) come from a per-phase table. Once no row has a choice
left (every row is forced through `<eom>`, eos, padding) the tail is written without further decoder steps.

T5 / BERT decoder steps: the same torch ops as transformers, without its per-call module / mask / cache machinery,
over weights packed once per model and dtype (`packed`, rebuilt when a parameter changes): self-attention q|k|v
fused into one matmul (bitwise equal to three on the CPUs tested), cross-attention keys and values computed once
per call, a preallocated KV cache. A batch-1 step is weight-bandwidth bound (the matmuls were ~75% of a step's
profile), so `DecodeConfig.dtype=torch.bfloat16` keeps a bf16 copy of the decoder's matmul weights (not autocast,
which re-casts fp32 weights at every call and measured slower) and runs the matmuls and KV cache in bf16, while the
encoder, norms, residual stream and output head stay fp32. `MotionLM.generate(precision="auto")`, the default,
uses it where the CPU computes bf16 natively (`motiongpt.precision`). Measured on a shared 2-core AVX512-BF16 EPYC
(batch 1, one 49-50-token motion, same-run interleaved minima): t5-small with a 30k vocabulary 0.21 s bf16 vs
0.40 s fp32 at 2 threads (hf `generate` 0.79 s); the default MiniLM model 87 vs 113 ms at 1 thread (hf 393 ms);
greedy motions of the default model identical for 31-32 / 32 validation captions, teacher-forced argmax agreement
1.0, max |logit diff| 0.06 (tests/lm/test_decoding.py states the tolerances). Caveat: on an oversubscribed machine
(load > cores) 2-thread OpenMP runs of either dtype slow down many-fold, bf16 more than fp32. Other backbones
run bf16 as autocast.

Equivalence with transformers' `generate` (the reference, `backend="hf"`): in fp32, greedy outputs are identical;
sampling applies temperature, top-k and top-p exactly as transformers does and draws the token as
`torch.multinomial` does for one sample (argmax of p / q with q ~ Exp(1)). With `full_vocab=True` the random
numbers are drawn over the whole vocabulary, so sampled outputs equal transformers' for the same seed; by
default they are drawn over the computed columns only (same distribution, other draws, far cheaper).

    out = decode(lm.backbone, lm.vocab, ids, mask, ["motion"], [49], DecodeConfig(budget=64))  # (B, n_new)
"""
from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn
from transformers import DynamicCache, EncoderDecoderCache, PreTrainedModel

from motiongpt.lm.generation import MODES, check_modes
from motiongpt.lm.vocab import MotionVocab

# grammar phases of a row (GrammarProcessor semantics)
FREE, CHAT_BEFORE, SOM, MOTION, MOTION_OR_EOM, EOM, EOS, DONE = range(8)
NEG = float("-inf")


@dataclass(frozen=True)
class DecodeConfig:
    """Token selection: temperature 0 = greedy; top_k / top_p None = off; `budget` = max new tokens."""

    budget: int
    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    full_vocab: bool = False  # logits over every id (sampling then draws transformers' random numbers)
    dtype: torch.dtype = torch.float32  # decoder matmuls (bf16: cast weights for T5 / BERT, autocast elsewhere)
    guidance: float = 1.0  # classifier-free guidance scale (1 = off; else the batch holds unconditional rows too)


# --------------------------------------------------------------------------------------------------------------
# Grammar as a phase machine
# --------------------------------------------------------------------------------------------------------------


class Grammar:
    """Per-row state (som / eom seen, motion run, done) -> phase -> additive mask row and forced token."""

    def __init__(self, vocab: MotionVocab, modes: Sequence[str], lengths: Sequence[int | None], max_motion: int,
                 width: int, device: torch.device) -> None:
        check_modes(modes, lengths)
        self.vocab = vocab
        mode = torch.tensor([MODES.index(m) for m in modes], device=device)
        self.is_text, self.is_motion, self.is_chat = mode == 0, mode == 1, mode == 2
        n = torch.tensor([int(x or 0) for x in lengths], device=device)
        self.min_run = torch.where(n > 0, n, torch.ones_like(n))
        self.max_run = torch.where(n > 0, n, torch.full_like(n, max_motion))
        zeros = torch.zeros(len(modes), dtype=torch.bool, device=device)
        self.som_seen, self.eom_seen, self.done = zeros.clone(), zeros.clone(), zeros.clone()
        self.run = torch.zeros(len(modes), dtype=torch.long, device=device)
        self.table = phase_masks(vocab, width, device)  # (8, width) additive
        self.forced = forced_tokens(vocab, device)  # (8,) id or -1

    def columns(self, full_vocab: bool, width: int) -> tuple[int, int]:
        """[start, stop) of the ids any row can still choose: the motion range for all-motion batches."""
        if full_vocab or not bool(self.is_motion.all()):
            return 0, width
        return self.vocab.motion_offset, self.vocab.eom_id + 1

    def phase(self) -> torch.Tensor:
        """(B,) phase of every row."""
        span = torch.where(self.run < self.min_run, MOTION, torch.where(self.run < self.max_run, MOTION_OR_EOM, EOM))
        phase = torch.where(self.is_chat & ~self.som_seen, CHAT_BEFORE, FREE)
        phase = torch.where(self.is_motion & ~self.som_seen, SOM, phase)
        phase = torch.where(self.som_seen & ~self.eom_seen, span, phase)
        phase = torch.where(self.is_motion & self.eom_seen, EOS, phase)
        return torch.where(self.done, DONE, phase)

    def only_forced_left(self, phase: torch.Tensor) -> bool:
        """True when no row will choose a token again: every row is ending (eos, padding) or is a motion row at
        its forced `<eom>`. A chat row at `<eom>` may still write text after the motion, so it does not count."""
        return bool(((phase >= EOS) | ((phase == EOM) & self.is_motion)).all())

    def update(self, tokens: torch.Tensor) -> None:
        """Advance the state by the chosen tokens (B,)."""
        v = self.vocab
        self.som_seen |= tokens == v.som_id
        self.eom_seen |= tokens == v.eom_id
        self.run += v.is_motion(tokens).long()
        self.done |= tokens == v.eos_id


def phase_masks(vocab: MotionVocab, width: int, device: torch.device) -> torch.Tensor:
    """(8, width) additive masks (0 allowed, -inf banned) of the phases, as `GrammarProcessor` builds them."""
    v = vocab
    table = torch.full((8, width), NEG, device=device)
    motion = slice(v.motion_offset, v.motion_offset + v.codebook_size)
    table[FREE] = 0.0
    table[FREE, v.non_text_ids()] = NEG
    table[CHAT_BEFORE] = 0.0
    table[CHAT_BEFORE, motion] = NEG
    table[CHAT_BEFORE, [v.eom_id, v.mask_id]] = NEG
    if v.pad_id != v.eos_id:
        table[[FREE, CHAT_BEFORE], v.pad_id] = NEG
    table[SOM, v.som_id] = 0.0
    table[MOTION, motion] = 0.0
    table[MOTION_OR_EOM, motion] = 0.0
    table[MOTION_OR_EOM, v.eom_id] = 0.0
    table[EOM, v.eom_id] = 0.0
    table[EOS, v.eos_id] = 0.0
    table[DONE, v.pad_id] = 0.0
    return table


def forced_tokens(vocab: MotionVocab, device: torch.device) -> torch.Tensor:
    """(8,) the only id a phase allows, -1 where the model chooses."""
    forced = torch.full((8,), -1, dtype=torch.long, device=device)
    forced[SOM], forced[EOM], forced[EOS], forced[DONE] = vocab.som_id, vocab.eom_id, vocab.eos_id, vocab.pad_id
    return forced


# --------------------------------------------------------------------------------------------------------------
# Token selection (transformers' semantics)
# --------------------------------------------------------------------------------------------------------------


def warp(scores: torch.Tensor, cfg: DecodeConfig) -> torch.Tensor:
    """Temperature, then top-k, then top-p, as transformers' warpers (in place where it can)."""
    if cfg.temperature != 1.0:
        scores = scores / cfg.temperature
    if cfg.top_k:
        k = min(max(cfg.top_k, 1), scores.shape[-1])
        scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], NEG)
    if cfg.top_p is not None and cfg.top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(scores, descending=False)
        remove = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= (1 - cfg.top_p)
        remove[..., -1:] = False
        scores = scores.masked_fill(remove.scatter(1, sorted_idx, remove), NEG)
    return scores


def guide(logits: torch.Tensor, rows: int, scale: float) -> torch.Tensor:
    """Classifier-free guidance: (2B, C) logits of B prompts then their B unconditional prompts ->
    uncond + scale * (cond - uncond), (B, C); (B, C) logits pass unchanged."""
    if logits.shape[0] == rows:
        return logits
    cond, uncond = logits[:rows], logits[rows:]
    return torch.lerp(uncond, cond, scale)


def pick(scores: torch.Tensor, cfg: DecodeConfig) -> torch.Tensor:
    """(B,) column index: argmax (greedy) or one multinomial draw of softmax(warp(scores))."""
    if cfg.temperature <= 0:
        return scores.argmax(-1)
    probs = torch.softmax(warp(scores, cfg), dim=-1)
    return (probs / torch.empty_like(probs).exponential_(1)).argmax(-1)  # torch.multinomial(probs, 1)


# --------------------------------------------------------------------------------------------------------------
# Backbone runners: encoder / prompt once, then one token per step; hidden state -> logits over a column range
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Head:
    """Output projection: logits = linear(pre(hidden), weight, bias); weight None = hidden already are logits."""

    pre: Callable[[torch.Tensor], torch.Tensor]
    weight: torch.Tensor | None
    bias: torch.Tensor | None = None

    def columns(self, start: int, stop: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """hidden (B, H) -> float logits (B, stop - start) of ids [start, stop), computed in fp32."""
        if self.weight is None:
            return lambda h: h[:, start:stop].float()
        w = self.weight[start:stop].float()
        b = None if self.bias is None else self.bias[start:stop].float()

        def logits(h: torch.Tensor) -> torch.Tensor:
            with torch.autocast(h.device.type, enabled=False):
                return nn.functional.linear(self.pre(h.float()), w, b)
        return logits


class Seq2SeqRunner:
    """Fallback for other encoder-decoders: encoder once, then the whole model per step with its own cache."""

    def __init__(self, model: PreTrainedModel, body: nn.Module, head: Head) -> None:
        self.model, self.body, self.head = model, body, head
        self.cache = self.enc = self.enc_mask = None

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        self.enc = self.model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        self.enc_mask = mask
        config = self.body.config
        self.cache = EncoderDecoderCache(DynamicCache(config=config), DynamicCache(config=config))
        return self.step(torch.full((ids.shape[0],), decoder_start_id(self.model), device=ids.device))

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        out = self.body(input_ids=tokens[:, None], encoder_hidden_states=self.enc,
                        encoder_attention_mask=self.enc_mask, cache=self.cache, use_cache=True)
        return _last(out)


class CausalRunner:
    """Prompt prefill (left-padded, positions from the mask as transformers computes them), then one token."""

    def __init__(self, model: PreTrainedModel, body: nn.Module, head: Head) -> None:
        self.model, self.body, self.head = model, body, head
        self.cache = self.mask = self.position = None
        self.length = 0

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        self.mask = torch.ones(ids.shape[0], ids.shape[1] + budget, dtype=mask.dtype, device=ids.device)
        self.mask[:, :ids.shape[1]] = mask
        self.length = ids.shape[1]
        position = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        self.position = position[:, -1:] + 1
        self.cache = DynamicCache(config=self.model.config)
        out = self.body(input_ids=ids, attention_mask=mask, position_ids=position, cache=self.cache, use_cache=True)
        return _last(out)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        self.length += 1
        out = self.body(input_ids=tokens[:, None], attention_mask=self.mask[:, :self.length],
                        position_ids=self.position, cache=self.cache, use_cache=True)
        self.position += 1
        return _last(out)


def _last(out) -> torch.Tensor:
    """(B, H) last position of a model output (hidden states, or logits for the fallback runners)."""
    x = out.logits if getattr(out, "logits", None) is not None else out.last_hidden_state
    return x[:, -1]


def decoder_start_id(model: PreTrainedModel) -> int:
    """The decoder start id as transformers resolves it (generation config, then model config, then bos)."""
    for source in (model.generation_config, model.config):
        for key in ("decoder_start_token_id", "bos_token_id"):
            if getattr(source, key, None) is not None:
                return int(getattr(source, key))
    raise ValueError(f"{type(model).__name__}: config has no decoder_start_token_id")


def _t5_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`T5LayerNorm` (RMS norm, statistics in fp32), op for op."""
    x = x * torch.rsqrt(x.to(torch.float32).pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)
    if norm.weight.dtype in (torch.float16, torch.bfloat16):
        x = x.to(norm.weight.dtype)
    return norm.weight * x


@dataclass(frozen=True)
class Lin:
    """A linear map in the decoding dtype; its input is cast to that dtype, its output stays in it (an fp32
    residual stream plus a bf16 output promotes to fp32, as under autocast)."""

    weight: torch.Tensor
    bias: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x.to(self.weight.dtype), self.weight, self.bias)


def pack(dtype: torch.dtype, *linears: nn.Linear) -> Lin:
    """One `Lin` of `linears` stacked by output rows (q, k, v -> one matmul) in `dtype`; a single linear in its own
    dtype shares the model's tensors, anything else is a copy."""
    def joined(parts: list[torch.Tensor]) -> torch.Tensor:
        return (parts[0] if len(parts) == 1 else torch.cat(parts)).detach().to(dtype).contiguous()
    bias = None if linears[0].bias is None else joined([x.bias for x in linears])
    return Lin(joined([x.weight for x in linears]), bias)


_PACKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def packed(model: nn.Module, dtype: torch.dtype, build: Callable[[nn.Module, torch.dtype], list]) -> list:
    """`build(model, dtype)` made once and reused while no parameter of `model` has changed (moved, reloaded or
    updated by an optimizer: the storage and version counter of every parameter are the key)."""
    key = tuple((p.data_ptr(), p._version) for p in model.parameters())
    cache = _PACKED.setdefault(model, {})
    if dtype not in cache or cache[dtype][0] != key:
        with torch.no_grad():
            cache[dtype] = key, build(model, dtype)
    return cache[dtype][1]


def _float_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """An additive attention mask in the dtype of the queries (boolean masks and None pass through)."""
    return mask if mask is None or mask.dtype == torch.bool else mask.to(dtype)


def _heads(x: torch.Tensor, parts: int, d_head: int) -> list[torch.Tensor]:
    """(B, L, parts * H * d) fused projections -> `parts` views (B, H, L, d), as `view(...).transpose(1, 2)`."""
    x = x.view(x.shape[0], x.shape[1], parts, -1, d_head)
    return [x[:, :, i].transpose(1, 2) for i in range(parts)]


def _merge(out: torch.Tensor) -> torch.Tensor:
    """(B, H, 1, d) attention output -> (B, 1, H * d), the values transformers' `transpose(1, 2).reshape` gives
    (with one query position both layouts are the same memory order, so this is a view when `out` is contiguous)."""
    return out.reshape(out.shape[0], 1, -1)


@dataclass(frozen=True)
class DecoderLayer:
    """One T5 / BERT decoder layer's weights: fused self-attention q|k|v, cross-attention q and fused k|v, the
    output projections, the feed-forward (`up` = (wi,) or gated (wi_0, wi_1)) and the layer's three norms (model
    modules, fp32: T5's RMS norms before, BERT's LayerNorms after each sub-layer)."""

    qkv: Lin
    o: Lin
    cq: Lin
    ckv: Lin
    co: Lin
    up: tuple[Lin, ...]
    act: Callable[[torch.Tensor], torch.Tensor]
    down: Lin
    norms: tuple[nn.Module, nn.Module, nn.Module]

    def ff(self, x: torch.Tensor) -> torch.Tensor:
        """The feed-forward in eval mode (`T5DenseActDense`, `T5DenseGatedActDense`, BERT's intermediate+output)."""
        h = self.act(self.up[0](x))
        return self.down(h * self.up[1](x) if len(self.up) == 2 else h)


def t5_blocks(model: PreTrainedModel, dtype: torch.dtype) -> list[DecoderLayer]:
    """The decoder blocks of a T5 model packed in `dtype`."""
    blocks = []
    for block in model.decoder.block:
        sa, ca, ff = block.layer
        s, c, d = sa.SelfAttention, ca.EncDecAttention, ff.DenseReluDense
        up = (d.wi_0, d.wi_1) if hasattr(d, "wi_0") else (d.wi,)
        blocks.append(DecoderLayer(pack(dtype, s.q, s.k, s.v), pack(dtype, s.o), pack(dtype, c.q), pack(dtype, c.k, c.v),
                              pack(dtype, c.o), tuple(pack(dtype, x) for x in up), d.act, pack(dtype, d.wo),
                              (sa.layer_norm, ca.layer_norm, ff.layer_norm)))
    return blocks


class T5Runner:
    """Hand-written T5 decoder step (the same torch ops as transformers' T5, without its per-call module / mask /
    cache machinery): fused q|k|v, a preallocated self-attention KV cache, cross-attention keys and values computed
    once, the relative position bias of every step precomputed. Matmuls run in `dtype` (fp32: the model's own
    weights; bf16: a cast copy kept by `packed`), norms and the residual stream in fp32; the encoder in fp32."""

    def __init__(self, model: PreTrainedModel, dtype: torch.dtype = torch.float32) -> None:
        self.model, self.dtype = model, dtype
        first = model.decoder.block[0].layer[0].SelfAttention
        self.heads, self.d_kv = first.n_heads, first.key_value_proj_dim
        scale = model.model_dim ** -0.5 if getattr(model.config, "scale_decoder_outputs", True) else 1.0
        self.head = Head(lambda h: h * scale, model.lm_head.weight)
        self.t = 0

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        self.blocks = packed(self.model, self.dtype, t5_blocks)
        enc = self.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        self.cross_kv = [_heads(b.ckv(enc), 2, self.d_kv) for b in self.blocks]
        k = self.cross_kv[0][0]
        bias = torch.zeros(1, self.heads, 1, ids.shape[1], dtype=k.dtype, device=ids.device)
        self.cross_mask = torch.where(mask[:, None, None, :].bool(), bias, torch.finfo(k.dtype).min).contiguous()
        shape = (ids.shape[0], self.heads, budget + 1, self.d_kv)
        self.cache = [(k.new_zeros(shape), k.new_zeros(shape)) for _ in self.blocks]
        first = self.model.decoder.block[0].layer[0].SelfAttention
        self.bias = first.compute_bias(budget + 1, budget + 1, device=ids.device).to(k.dtype)
        self.t = 0
        return self.step(torch.full((ids.shape[0],), decoder_start_id(self.model), device=ids.device))

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        t, x = self.t, self.model.decoder.embed_tokens(tokens[:, None])
        mask = self.bias[:, :, t:t + 1, :t + 1].contiguous()
        for b, (keys, values), (ck, cv) in zip(self.blocks, self.cache, self.cross_kv):
            q, keys[:, :, t:t + 1], values[:, :, t:t + 1] = _heads(b.qkv(_t5_norm(b.norms[0], x)), 3, self.d_kv)
            out = nn.functional.scaled_dot_product_attention(q, keys[:, :, :t + 1], values[:, :, :t + 1],
                                                             attn_mask=mask, scale=1.0)
            x = x + b.o(_merge(out))
            [q] = _heads(b.cq(_t5_norm(b.norms[1], x)), 1, self.d_kv)
            out = nn.functional.scaled_dot_product_attention(q, ck, cv, attn_mask=self.cross_mask, scale=1.0)
            x = x + b.co(_merge(out))
            x = x + b.ff(_t5_norm(b.norms[2], x))
        self.t += 1
        return _t5_norm(self.model.decoder.final_layer_norm, x.float())[:, -1]


def bert_layers(model: PreTrainedModel, dtype: torch.dtype) -> list[DecoderLayer]:
    """The decoder layers of a BERT2BERT model packed in `dtype`."""
    layers = []
    for layer in model.decoder.bert.encoder.layer:
        s, c = layer.attention.self, layer.crossattention.self
        so, co = layer.attention.output, layer.crossattention.output
        layers.append(DecoderLayer(pack(dtype, s.query, s.key, s.value), pack(dtype, so.dense), pack(dtype, c.query),
                                   pack(dtype, c.key, c.value), pack(dtype, co.dense),
                                   (pack(dtype, layer.intermediate.dense),), layer.intermediate.intermediate_act_fn,
                                   pack(dtype, layer.output.dense),
                                   (so.LayerNorm, co.LayerNorm, layer.output.LayerNorm)))
    return layers


class BertRunner:
    """Hand-written step of a BERT2BERT decoder (`EncoderDecoderModel` with a `BertLMHeadModel`), op for op as
    transformers runs it apart from the fused q|k|v: preallocated self-attention KV cache, cross-attention keys /
    values computed once. Matmuls in `dtype` (see `T5Runner`), LayerNorms and the residual stream in fp32."""

    def __init__(self, model: PreTrainedModel, dtype: torch.dtype = torch.float32) -> None:
        self.model, self.bert, self.dtype = model, model.decoder.bert, dtype
        first = self.bert.encoder.layer[0].attention.self
        self.heads, self.d_head, self.scaling = first.num_attention_heads, first.attention_head_size, first.scaling
        pred = model.decoder.cls.predictions
        self.head = Head(pred.transform, pred.decoder.weight, pred.decoder.bias)
        self.t = 0

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        self.layers = packed(self.model, self.dtype, bert_layers)
        enc = self.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        dec_cfg = self.model.decoder.config
        if self.model.encoder.config.hidden_size != dec_cfg.hidden_size \
                and getattr(dec_cfg, "cross_attention_hidden_size", None) is None:
            enc = self.model.enc_to_dec_proj(enc)
        self.cross_kv = [_heads(layer.ckv(enc), 2, self.d_head) for layer in self.layers]
        probe = enc.new_zeros(ids.shape[0], 1, dec_cfg.hidden_size)
        self.cross_mask = _float_mask(create_bidirectional_mask(config=dec_cfg, inputs_embeds=probe,
                                                                attention_mask=mask, encoder_hidden_states=enc),
                                      self.dtype)
        k = self.cross_kv[0][0]
        shape = (ids.shape[0], self.heads, budget + 1, self.d_head)
        self.cache = [(k.new_zeros(shape), k.new_zeros(shape)) for _ in self.layers]
        self.t = 0
        return self.step(torch.full((ids.shape[0],), decoder_start_id(self.model), device=ids.device))

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        t, emb = self.t, self.bert.embeddings
        x = emb.word_embeddings(tokens[:, None]) + emb.token_type_embeddings.weight[0]
        x = emb.LayerNorm(x + emb.position_embeddings.weight[t])
        for layer, (keys, values), (ck, cv) in zip(self.layers, self.cache, self.cross_kv):
            q, keys[:, :, t:t + 1], values[:, :, t:t + 1] = _heads(layer.qkv(x), 3, self.d_head)
            out = nn.functional.scaled_dot_product_attention(q, keys[:, :, :t + 1], values[:, :, :t + 1],
                                                             scale=self.scaling)
            x = layer.norms[0](layer.o(_merge(out)) + x)
            [q] = _heads(layer.cq(x), 1, self.d_head)
            out = nn.functional.scaled_dot_product_attention(q, ck, cv, attn_mask=self.cross_mask, scale=self.scaling)
            x = layer.norms[1](layer.co(_merge(out)) + x)
            x = layer.norms[2](layer.ff(x) + x)
        self.t += 1
        return x[:, -1]


def _plain_causal(model: PreTrainedModel) -> CausalRunner:
    return CausalRunner(model, model.base_model, Head(lambda h: h, model.get_output_embeddings().weight))


class _FullSeq2Seq(nn.Module):
    """Fallback body: the whole seq2seq model given the encoder states (its own head, full logits)."""

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__()
        self.model, self.config = model, model.config

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask, cache, use_cache):
        return self.model(encoder_outputs=(encoder_hidden_states,), attention_mask=encoder_attention_mask,
                          decoder_input_ids=input_ids, cache=cache, use_cache=use_cache)


CAUSAL_PLAIN_HEAD = ("gpt2", "llama", "mistral", "qwen2", "qwen3")  # logits = lm_head(base_model(x)) exactly


def build_runner(model: PreTrainedModel, dtype: torch.dtype = torch.float32
                 ) -> T5Runner | BertRunner | Seq2SeqRunner | CausalRunner:
    """The runner for a backbone: hand-written steps in `dtype` for T5 and BERT2BERT, transformers' modules with
    a sliced head for known causal families, full logits for the rest.

    A `peft` model is run through its base model (the adapters live inside its layers)."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = model.config
    if config.model_type == "t5":
        return T5Runner(model, dtype)
    if config.model_type == "encoder-decoder" and config.decoder.model_type == "bert":
        return BertRunner(model, dtype)
    if config.is_encoder_decoder:
        return Seq2SeqRunner(model, _FullSeq2Seq(model), Head(lambda h: h, None))
    if config.model_type in CAUSAL_PLAIN_HEAD:
        return _plain_causal(model)
    return CausalRunner(model, model, Head(lambda h: h, None))


# --------------------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------------------


def decode(model: PreTrainedModel, vocab: MotionVocab, ids: torch.Tensor, mask: torch.Tensor,
           modes: Sequence[str], lengths: Sequence[int | None], cfg: DecodeConfig, max_motion: int) -> torch.Tensor:
    """(B, n_new) generated ids (eos-terminated rows padded with pad) under the grammar; `model` in eval mode.

    With `cfg.guidance != 1`, `ids` / `mask` hold 2B rows: the B prompts of `modes`, then B unconditional prompts
    (the same requests without their caption); both run as one batch and each step's logits are guided (`guide`).
    """
    rows = len(modes) * (1 if cfg.guidance == 1.0 else 2)
    if ids.shape[0] != rows:
        raise ValueError(f"decode: {ids.shape[0]} prompt rows for {len(modes)} requests at guidance "
                         f"{cfg.guidance} (need {rows})")
    runner = build_runner(model, cfg.dtype)
    native = isinstance(runner, (T5Runner, BertRunner)) or cfg.dtype == torch.float32
    with contextlib.nullcontext() if native else torch.autocast(ids.device.type, dtype=cfg.dtype):
        return _loop(runner, vocab, ids, mask, modes, lengths, cfg, max_motion)


def _loop(runner: T5Runner | BertRunner | Seq2SeqRunner | CausalRunner, vocab: MotionVocab, ids: torch.Tensor,
          mask: torch.Tensor, modes: Sequence[str], lengths: Sequence[int | None], cfg: DecodeConfig,
          max_motion: int) -> torch.Tensor:
    """`decode` with a built runner: start, then one grammar-constrained token per step until every row ended."""
    hidden = runner.start(ids, mask, cfg.budget)
    width = hidden.shape[-1] if runner.head.weight is None else runner.head.weight.shape[0]
    grammar = Grammar(vocab, modes, lengths, max_motion, width, ids.device)
    start, stop = grammar.columns(cfg.full_vocab, width)
    logits_of, masks = runner.head.columns(start, stop), grammar.table[:, start:stop].contiguous()
    rows = len(modes)
    out = torch.full((rows, cfg.budget), vocab.pad_id, dtype=torch.long, device=ids.device)
    phase = grammar.phase()
    for t in range(cfg.budget):
        logits = guide(logits_of(hidden), rows, cfg.guidance)
        chosen = pick(logits + masks.index_select(0, phase), cfg) + start
        forced = grammar.forced.index_select(0, phase)
        tokens = torch.where(forced >= 0, forced, chosen)
        out[:, t] = tokens
        grammar.update(tokens)
        phase = grammar.phase()
        if grammar.only_forced_left(phase):  # eom, eos, padding of every row without decoder steps
            return _forced_tail(grammar, out, t + 1, phase)
        if t + 1 < cfg.budget:
            hidden = runner.step(tokens if ids.shape[0] == rows else tokens.repeat(2))
    return out


def _forced_tail(grammar: Grammar, out: torch.Tensor, t: int, phase: torch.Tensor) -> torch.Tensor:
    """`out` filled from column `t` with the forced tokens of rows in phases EOM / EOS / DONE, cut after the column
    where the last row ended (its eos), as the loop would have cut it."""
    while t < out.shape[1] and not bool(grammar.done.all()):
        out[:, t] = grammar.forced.index_select(0, phase)
        grammar.update(out[:, t])
        phase, t = grammar.phase(), t + 1
    return out[:, :t]
