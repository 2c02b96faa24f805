"""Lean constrained decoding for `MotionLM`: the fast path behind `MotionLM.generate(backend="lean")`.

One loop for encoder-decoder (T5, BERT2BERT `EncoderDecoderModel`) and decoder-only (GPT-2, Llama, ...)
backbones: the encoder (or the prompt) runs once, each step feeds one token per row through the decoder
stack with a KV cache (T5 and BERT decoders: hand-written steps over the model's own weights with a
preallocated cache, the same torch ops as transformers without its per-call machinery; other backbones:
transformers' decoder with its `DynamicCache`), and the output projection is applied only to the ids the
batch can produce (the motion-id range for all-motion batches: ~500 columns instead of the ~30k text
vocabulary). The grammar of `motiongpt.lm.generation.GrammarProcessor` is kept as a per-row phase (a few
tensor ops per step, no Python per-row loop) that indexes a precomputed table of additive masks; forced
tokens (`<som>`, `<eom>`, eos, padding of finished rows) come from a per-phase table. The loop stops when
every row has ended.

Equivalence with transformers' `generate` (the reference, `backend="hf"`): greedy outputs are identical;
sampling applies temperature, top-k and top-p exactly as transformers does and draws the token as
`torch.multinomial` does for one sample (argmax of p / q with q ~ Exp(1)). With `full_vocab=True` the random
numbers are drawn over the whole vocabulary, so sampled outputs equal transformers' for the same seed; by
default they are drawn over the computed columns only (same distribution, other draws, far cheaper).

    out = decode(lm.backbone, lm.vocab, ids, mask, ["motion"], [49], DecodeConfig(budget=64))  # (B, n_new)
"""
from __future__ import annotations

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


class T5Runner:
    """Hand-written T5 decoder step over the model's own weights (the same torch ops as transformers' T5, without
    its per-call module / mask / cache machinery): a preallocated self-attention KV cache, cross-attention keys
    and values computed once, the relative position bias of every step precomputed."""

    def __init__(self, model: PreTrainedModel) -> None:
        self.model, self.blocks = model, list(model.decoder.block)
        first = self.blocks[0].layer[0].SelfAttention
        self.heads, self.d_kv = first.n_heads, first.key_value_proj_dim
        scale = model.model_dim ** -0.5 if getattr(model.config, "scale_decoder_outputs", True) else 1.0
        self.head = Head(lambda h: h * scale, model.lm_head.weight)
        self.t = 0

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], -1, self.d_kv).transpose(1, 2)  # (B, H, L, d_kv)

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        enc = self.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        cross = [b.layer[1].EncDecAttention for b in self.blocks]
        self.cross_kv = [(self._split(nn.functional.linear(enc, a.k.weight)),
                          self._split(nn.functional.linear(enc, a.v.weight))) for a in cross]
        k = self.cross_kv[0][0]
        bias = torch.zeros(1, self.heads, 1, ids.shape[1], dtype=k.dtype, device=ids.device)
        self.cross_mask = torch.where(mask[:, None, None, :].bool(), bias, torch.finfo(k.dtype).min).contiguous()
        shape = (ids.shape[0], self.heads, budget + 1, self.d_kv)
        self.cache = [(k.new_zeros(shape), k.new_zeros(shape)) for _ in self.blocks]
        self.bias = self.blocks[0].layer[0].SelfAttention.compute_bias(budget + 1, budget + 1, device=ids.device)
        self.t = 0
        return self.step(torch.full((ids.shape[0],), decoder_start_id(self.model), device=ids.device))

    def _attend(self, attn: nn.Module, q_in: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        q = self._split(nn.functional.linear(q_in, attn.q.weight))
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        out = out.reshape(out.shape[0], -1, 1, v.shape[-1]).transpose(1, 2).contiguous()
        return nn.functional.linear(out.reshape(out.shape[0], 1, -1), attn.o.weight)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        t, x = self.t, self.model.decoder.embed_tokens(tokens[:, None])
        mask = self.bias[:, :, t:t + 1, :t + 1].contiguous()
        for block, (keys, values), (ck, cv) in zip(self.blocks, self.cache, self.cross_kv):
            sa, ca, ff = block.layer
            n = _t5_norm(sa.layer_norm, x)
            keys[:, :, t:t + 1] = self._split(nn.functional.linear(n, sa.SelfAttention.k.weight))
            values[:, :, t:t + 1] = self._split(nn.functional.linear(n, sa.SelfAttention.v.weight))
            x = x + self._attend(sa.SelfAttention, n, keys[:, :, :t + 1], values[:, :, :t + 1], mask)
            x = x + self._attend(ca.EncDecAttention, _t5_norm(ca.layer_norm, x), ck, cv, self.cross_mask)
            x = x + ff.DenseReluDense(_t5_norm(ff.layer_norm, x))
        self.t += 1
        return _t5_norm(self.model.decoder.final_layer_norm, x)[:, -1]


def _sdpa_merge(out: torch.Tensor) -> torch.Tensor:
    """(B, H, 1, d) attention output -> (B, 1, H * d), as transformers' sdpa integration lays it out."""
    out = out.reshape(out.shape[0], -1, 1, out.shape[-1]).transpose(1, 2).contiguous()
    return out.reshape(out.shape[0], 1, -1).contiguous()


class BertRunner:
    """Hand-written step of a BERT2BERT decoder (`EncoderDecoderModel` with a `BertLMHeadModel`), op for op as
    transformers runs it: preallocated self-attention KV cache, cross-attention keys / values computed once."""

    def __init__(self, model: PreTrainedModel) -> None:
        self.model, self.bert = model, model.decoder.bert
        self.layers = list(self.bert.encoder.layer)
        first = self.layers[0].attention.self
        self.heads, self.d_head = first.num_attention_heads, first.attention_head_size
        pred = model.decoder.cls.predictions
        self.head = Head(pred.transform, pred.decoder.weight, pred.decoder.bias)
        self.t = 0

    def _split(self, x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
        x = nn.functional.linear(x, linear.weight, linear.bias)
        return x.view(x.shape[0], x.shape[1], -1, self.d_head).transpose(1, 2)

    def start(self, ids: torch.Tensor, mask: torch.Tensor, budget: int) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        enc = self.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        dec_cfg = self.model.decoder.config
        if self.model.encoder.config.hidden_size != dec_cfg.hidden_size \
                and getattr(dec_cfg, "cross_attention_hidden_size", None) is None:
            enc = self.model.enc_to_dec_proj(enc)
        cross = [layer.crossattention.self for layer in self.layers]
        self.cross_kv = [(self._split(enc, a.key), self._split(enc, a.value)) for a in cross]
        probe = enc.new_zeros(ids.shape[0], 1, dec_cfg.hidden_size)
        self.cross_mask = create_bidirectional_mask(config=dec_cfg, inputs_embeds=probe, attention_mask=mask,
                                                    encoder_hidden_states=enc)
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
            a = layer.attention.self
            q = self._split(x, a.query)
            keys[:, :, t:t + 1], values[:, :, t:t + 1] = self._split(x, a.key), self._split(x, a.value)
            out = nn.functional.scaled_dot_product_attention(q, keys[:, :, :t + 1], values[:, :, :t + 1],
                                                             scale=a.scaling)
            x = layer.attention.output(_sdpa_merge(out), x)
            c = layer.crossattention.self
            out = nn.functional.scaled_dot_product_attention(self._split(x, c.query), ck, cv,
                                                             attn_mask=self.cross_mask, scale=c.scaling)
            x = layer.crossattention.output(_sdpa_merge(out), x)
            x = layer.output(layer.intermediate(x), x)
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


def build_runner(model: PreTrainedModel) -> Seq2SeqRunner | CausalRunner:
    """The runner for a backbone: sliced-head fast paths for known families, full logits for the rest.

    A `peft` model is run through its base model (the adapters live inside its layers)."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = model.config
    if config.model_type == "t5":
        return T5Runner(model)
    if config.model_type == "encoder-decoder" and config.decoder.model_type == "bert":
        return BertRunner(model)
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
    """(B, n_new) generated ids (eos-terminated rows padded with pad) under the grammar; `model` in eval mode."""
    runner = build_runner(model)
    hidden, n = runner.start(ids, mask, cfg.budget), cfg.budget
    width = hidden.shape[-1] if runner.head.weight is None else runner.head.weight.shape[0]
    grammar = Grammar(vocab, modes, lengths, max_motion, width, ids.device)
    start, stop = grammar.columns(cfg.full_vocab, width)
    logits_of, masks = runner.head.columns(start, stop), grammar.table[:, start:stop].contiguous()
    out = torch.full((ids.shape[0], cfg.budget), vocab.pad_id, dtype=torch.long, device=ids.device)
    for t in range(cfg.budget):
        phase = grammar.phase()
        chosen = pick(logits_of(hidden) + masks.index_select(0, phase), cfg) + start
        forced = grammar.forced.index_select(0, phase)
        tokens = torch.where(forced >= 0, forced, chosen)
        out[:, t] = tokens
        grammar.update(tokens)
        if bool(grammar.done.all()):
            n = t + 1
            break
        if t + 1 < cfg.budget:
            hidden = runner.step(tokens)
    return out[:, :n]
