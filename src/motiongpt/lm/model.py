"""`MotionLM`: a Hugging Face seq2seq (T5) or decoder-only (GPT-2, Llama) LM over the joint text+motion vocab.

Backbones come from presets (T5 v1 sizes `tiny`, `cpu`, `small`, `base`, `large`; causal `gpt2-tiny`,
`llama-tiny`, `gpt2-small`, `smollm-135m`-sized Llama, all randomly initialised) or from a local
Hugging Face directory (`pretrained=`), whose embeddings are resized for the motion tokens. For causal models
prompt and target are concatenated and the loss is masked on the prompt. Saved directories are plain Hugging
Face layout (model.safetensors, config.json, tokenizer files) plus motiongpt.json, so
`AutoModelForSeq2SeqLM.from_pretrained(dir)` / `AutoModelForCausalLM.from_pretrained(dir)` open them too::

    lm = MotionLM.from_preset("tiny", vocab)
    loss = lm(collate(examples, vocab.pad_id, lm.causal))
    out = lm.generate(prompts, modes=["motion"], lengths=[49])     # list of generated id tensors
    lm.save_pretrained("runs/lm/final"); lm = MotionLM.from_pretrained("runs/lm/final")
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, GPT2Config, LlamaConfig,
                          LogitsProcessorList, PretrainedConfig, PreTrainedModel, T5Config)

from motiongpt.lm.batch import LMBatch, attention_from_lengths, pad_sequences
from motiongpt.lm.generation import GrammarProcessor
from motiongpt.lm.vocab import MotionVocab, read_metadata

MAX_MOTION_TOKENS = 50  # 196 frames / 4 = 49 tokens, the HumanML3D maximum, plus one


@dataclass(frozen=True)
class T5Size:
    """T5 v1 hyper-parameters."""

    d_model: int
    d_ff: int
    num_layers: int
    num_heads: int
    d_kv: int = 64
    num_decoder_layers: int | None = None


T5_PRESETS: dict[str, T5Size] = {
    "tiny": T5Size(d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16),
    "cpu": T5Size(d_model=256, d_ff=1024, num_layers=4, num_heads=4),
    "small": T5Size(d_model=512, d_ff=2048, num_layers=6, num_heads=8),
    "base": T5Size(d_model=768, d_ff=3072, num_layers=12, num_heads=12),
    "large": T5Size(d_model=1024, d_ff=4096, num_layers=24, num_heads=16),
}
CAUSAL_PRESETS = ("gpt2-tiny", "llama-tiny", "gpt2-small", "llama-135m")
PRESETS = tuple(T5_PRESETS) + CAUSAL_PRESETS


def preset_config(preset: str, vocab: MotionVocab, dropout: float = 0.1, max_positions: int = 1024
                  ) -> PretrainedConfig:
    """A randomly initialisable backbone config for `preset` sized to `vocab`."""
    ids = dict(pad_token_id=vocab.pad_id, eos_token_id=vocab.eos_id, vocab_size=vocab.size)
    if preset in T5_PRESETS:
        s = T5_PRESETS[preset]
        return T5Config(d_model=s.d_model, d_ff=s.d_ff, num_layers=s.num_layers, num_heads=s.num_heads,
                        d_kv=s.d_kv, num_decoder_layers=s.num_decoder_layers or s.num_layers,
                        dropout_rate=dropout, feed_forward_proj="relu", tie_word_embeddings=True,
                        decoder_start_token_id=vocab.pad_id, **ids)
    if preset in ("gpt2-tiny", "gpt2-small"):
        n, layers, heads = (32, 2, 2) if preset == "gpt2-tiny" else (768, 12, 12)
        return GPT2Config(n_embd=n, n_layer=layers, n_head=heads, n_positions=max_positions, resid_pdrop=dropout,
                          embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=vocab.eos_id, **ids)
    if preset in ("llama-tiny", "llama-135m"):
        h, inter, layers, heads, kv = (32, 64, 2, 2, 2) if preset == "llama-tiny" else (576, 1536, 30, 9, 3)
        return LlamaConfig(hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
                           num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=max_positions,
                           attention_dropout=dropout, tie_word_embeddings=True, bos_token_id=vocab.eos_id, **ids)
    raise ValueError(f"unknown LM preset {preset!r}; expected one of {PRESETS}")


def init_new_rows(weight: torch.Tensor, start: int, generator: torch.Generator | None = None) -> None:
    """In place: rows [start:] ~ N(mean, std) of rows [:start] (per dimension), the motion-token init."""
    with torch.no_grad():
        old = weight[:start].float()
        mean, std = old.mean(0), old.std(0).clamp_min(1e-6)
        noise = torch.randn(weight.shape[0] - start, weight.shape[1], generator=generator)
        weight[start:] = (mean + noise * std * 0.5).to(weight.dtype)


def resize_for_vocab(model: PreTrainedModel, vocab: MotionVocab) -> None:
    """Grow the embeddings (and an untied output layer) of a pretrained backbone to `vocab.size`."""
    old = model.get_input_embeddings().weight.shape[0]
    if old >= vocab.size:
        return
    model.resize_token_embeddings(vocab.size, mean_resizing=False)
    start = min(old, vocab.text_vocab_size)
    init_new_rows(model.get_input_embeddings().weight, start)
    out = model.get_output_embeddings()
    if out is not None and out.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        init_new_rows(out.weight, start)


class MotionLM(nn.Module):
    """A backbone LM plus its `MotionVocab`; handles seq2seq vs causal batching and constrained generation."""

    def __init__(self, backbone: PreTrainedModel, vocab: MotionVocab, max_motion_tokens: int = MAX_MOTION_TOKENS
                 ) -> None:
        super().__init__()
        if backbone.get_input_embeddings().weight.shape[0] < vocab.size:
            raise ValueError(f"backbone has {backbone.get_input_embeddings().weight.shape[0]} embeddings, "
                             f"vocabulary needs {vocab.size}")
        self.backbone = backbone
        self.vocab = vocab
        self.max_motion_tokens = max_motion_tokens

    @property
    def causal(self) -> bool:
        """True for decoder-only backbones."""
        return not bool(getattr(self.backbone.config, "is_encoder_decoder", False))

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    # --- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, preset: str, vocab: MotionVocab, dropout: float = 0.1, seed: int | None = None
                    ) -> "MotionLM":
        """A randomly initialised backbone of a named size."""
        config = preset_config(preset, vocab, dropout)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            model = (AutoModelForCausalLM if preset in CAUSAL_PRESETS else AutoModelForSeq2SeqLM).from_config(config)
        return cls(model, vocab)

    @classmethod
    def from_backbone_dir(cls, path: str | os.PathLike, vocab: MotionVocab) -> "MotionLM":
        """A local pretrained Hugging Face model (seq2seq or causal), resized for the motion tokens."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: no config.json (not a Hugging Face model directory)")
        model = _auto_class(AutoConfig.from_pretrained(str(path))).from_pretrained(str(path), local_files_only=True)
        resize_for_vocab(model, vocab)
        for key in ("pad_token_id", "eos_token_id"):
            setattr(model.config, key, getattr(vocab, key.replace("_token", "")))
            setattr(model.generation_config, key, getattr(vocab, key.replace("_token", "")))
        return cls(model, vocab)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, device: torch.device | str | None = None) -> "MotionLM":
        """Load a directory written by `save_pretrained`."""
        path = Path(path)
        meta = read_metadata(path)
        vocab = MotionVocab.from_pretrained(path)
        model = _auto_class(AutoConfig.from_pretrained(str(path))).from_pretrained(str(path), local_files_only=True)
        lm = cls(model, vocab, int(meta.get("max_motion_tokens", MAX_MOTION_TOKENS)))
        lm.eval()
        return lm.to(device) if device is not None else lm

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Hugging Face layout + motiongpt.json, written to a temporary sibling and swapped in."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        try:
            self.backbone.save_pretrained(str(tmp))
            self.vocab.save_pretrained(tmp, extra={"backbone": "causal" if self.causal else "seq2seq",
                                                   "max_motion_tokens": self.max_motion_tokens})
            _swap_dir(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- training --------------------------------------------------------------------------------------------
    def forward(self, batch: LMBatch) -> torch.Tensor:
        """Mean cross-entropy over target tokens."""
        out = self.backbone(input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels)
        return out.loss

    def training_loss(self, batch: LMBatch) -> tuple[torch.Tensor, dict[str, float]]:
        """(loss, metrics) for `motiongpt.train.engine.Trainer`."""
        return self(batch), {"tokens": float(batch.num_tokens)}

    # --- generation ------------------------------------------------------------------------------------------
    def prompt_batch(self, prompts: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (B,S), mask (B,S)): right-padded for seq2seq, left-padded for causal models."""
        left = self.causal
        ids = pad_sequences(list(prompts), self.vocab.pad_id, left=left)
        mask = attention_from_lengths([len(p) for p in prompts], ids.shape[1], left=left)
        return ids.to(self.device), mask.to(self.device)

    @torch.no_grad()
    def generate(self, prompts: Sequence[torch.Tensor], modes: Sequence[str], lengths: Sequence[int | None],
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 max_new_tokens: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        """Generated ids per prompt (without the prompt), under the `GrammarProcessor` constraints.

        modes: "motion" | "text" | "chat" per prompt; lengths: motion tokens per prompt (None: model decides).
        temperature 0 means greedy decoding. Sampling is reproducible for a given `seed`.
        """
        if not prompts:
            return []
        ids, mask = self.prompt_batch(prompts)
        prompt_len = ids.shape[1] if self.causal else 1
        grammar = GrammarProcessor(self.vocab, modes, lengths, prompt_len, self.max_motion_tokens)
        longest = max([n or self.max_motion_tokens for n in lengths])
        budget = max_new_tokens or max(64, longest + 3)
        sampling = dict(do_sample=True, temperature=temperature, top_k=top_k or 0, top_p=top_p or 1.0) \
            if temperature > 0 else dict(do_sample=False)
        was_training = self.backbone.training
        self.backbone.eval()
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            out = self.backbone.generate(input_ids=ids, attention_mask=mask, max_new_tokens=budget,
                                         logits_processor=LogitsProcessorList([grammar]), use_cache=True,
                                         pad_token_id=self.vocab.pad_id, eos_token_id=self.vocab.eos_id,
                                         **sampling)
        self.backbone.train(was_training)
        gen = out[:, ids.shape[1]:] if self.causal else out[:, 1:]  # (B, n_new)
        return [row.cpu() for row in gen]


def _auto_class(config: PretrainedConfig) -> type:
    """AutoModelForSeq2SeqLM for encoder-decoder configs, else AutoModelForCausalLM."""
    return AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM


def _swap_dir(src: Path, dst: Path) -> None:
    """Replace directory `dst` by `src` (rename; the old `dst` is removed after the swap)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
