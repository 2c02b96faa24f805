"""`motiongpt train lm`: stage 2 (motion-language pre-training) and stage 3 (instruction tuning) of the LM.

    motiongpt train lm --stage pretrain --config configs/lm/cpu.yaml --data data/bandai \\
        --tokens data/bandai/tokens/vq_cpu --run-dir runs/lm_pre
    motiongpt train lm --stage instruct --config configs/lm/cpu.yaml --data data/bandai \\
        --tokens data/bandai/tokens/vq_cpu --init runs/lm_pre/export/last --run-dir runs/lm_inst \\
        trainer.schedule.max_steps=2000

The motion tokenizer is frozen: training reads cached token ids (`motiongpt tokenize`). Without `--init`, a
text tokenizer is trained on the training captions (or `data.text_tokenizer` is loaded) and the backbone is
built from `model.preset` (or a local Hugging Face model `model.pretrained`). The run uses the shared engine
(resume with `--resume`, checkpoints, TensorBoard); the final and best models are exported in Hugging Face
layout to `<run_dir>/export/{last,best}` (open with `MotionLM.from_pretrained`).
"""
from __future__ import annotations

import argparse
import logging
import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Optional

from motiongpt.config import ConfigError, Fraction, TrainerConfig, load_config
from motiongpt.data.layout import MotionDir
from motiongpt.lm.batch import collate
from motiongpt.lm.data import STAGE_TASKS, CaptionNoise, LMDataset, MotionItem, balanced_order, load_items
from motiongpt.lm.model import (MAX_MOTION_TOKENS, MINILM_PRESET, PRESETS, SMOLLM2_PRESET, MotionLM,
                                minilm_text_tokenizer, smollm2_text_tokenizer)
from motiongpt.lm.templates import Task, tasks_for
from motiongpt.lm.vocab import MotionVocab, load_text_tokenizer, train_text_tokenizer
from motiongpt.train.stage import manifest_labels

PRETRAINED_PRESETS = (MINILM_PRESET, SMOLLM2_PRESET)  # warm-started from weights installed by a package
log = logging.getLogger(__name__)


@dataclass
class LMDataConfig:
    """Dataset, token cache, task mix and text tokenizer."""

    root: str = "data/bandai"  # HumanML3D-layout directory (--data)
    tokens: str = ""  # cached token ids <tokens>/<id>.npy (--tokens)
    codebook_size: int = 512  # size of the frozen motion tokenizer's codebook
    split: str = "train"
    val_split: str = "val"
    val_examples: int = 64  # fixed validation examples for the val loss (0 disables validation)
    balance: Fraction = 0.0  # 0: every motion equally often; 1: every action label (manifest) equally often
    length_crop: float = 0.0  # each draw trims up to this fraction of a whole motion's tokens from its ends
    length_extend: float = 0.0  # ... then adds up to this fraction by holding its first / last token
    caption_rewrite: Fraction = 0.0  # share of read-only captions replaced by an everyday request from the label
    caption_typos: Fraction = 0.0  # share of read-only captions given one misspelt word (data.requests)
    tasks: list[str] = field(default_factory=list)  # empty: the stage's default task list
    task_weights: dict[str, float] = field(default_factory=dict)  # task name -> weight replacing templates.json's
    text_tokenizer: Optional[str] = None  # local Hugging Face tokenizer dir; None trains one on the captions
    text_vocab_size: int = 3000


@dataclass
class LMModelConfig:
    """Backbone choice."""

    preset: str = "tiny"  # minilm | smollm2 | tiny | cpu | small | base | large | gpt2-tiny | llama-tiny | gpt2-small | llama-135m
    backbone: Optional[str] = None  # local Hugging Face model dir (T5 / flan-T5 or causal LM) instead of a preset
    pretrained: Optional[str] = None  # old name of `backbone` (configs written before 0.2)
    dropout: float = 0.1
    max_motion_tokens: int = MAX_MOTION_TOKENS
    decoder_layers: int = 3  # minilm: decoder layers, warm-started from the encoder's first layers
    encoder_lr_scale: float = 1.0  # learning-rate multiplier of pretrained encoder layers (not the embeddings)
    lora_rank: int = 16  # smollm2: LoRA rank of the adapters
    input_corruption: float = 0.0  # share of teacher-forced motion ids replaced by random ones (T2M-GPT)


@dataclass
class LMStageConfig:
    """Everything `motiongpt train lm` reads from YAML / overrides."""

    stage: Literal["pretrain", "instruct"] = "pretrain"
    init: Optional[str] = None  # a MotionLM directory to start from (e.g. the pre-trained export)
    data: LMDataConfig = field(default_factory=LMDataConfig)
    model: LMModelConfig = field(default_factory=LMModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def build_vocab(cfg: LMStageConfig, captions: list[str]) -> MotionVocab:
    """A loaded or freshly trained text tokenizer extended with the motion tokens."""
    if cfg.data.text_tokenizer:
        tok = load_text_tokenizer(cfg.data.text_tokenizer)
    elif cfg.model.preset == MINILM_PRESET and not backbone_dir(cfg):
        tok = minilm_text_tokenizer()
    elif cfg.model.preset == SMOLLM2_PRESET and not backbone_dir(cfg):
        tok = smollm2_text_tokenizer()
    else:
        tok = train_text_tokenizer(captions, vocab_size=cfg.data.text_vocab_size)
    return MotionVocab.build(tok, cfg.data.codebook_size)


def build_lm(cfg: LMStageConfig, captions: list[str]) -> MotionLM:
    """The model to train: `--init` dir, a local pretrained backbone, or a preset."""
    if cfg.init:
        lm = MotionLM.from_pretrained(cfg.init)
        if lm.vocab.codebook_size != cfg.data.codebook_size:
            raise ConfigError(f"--init {cfg.init} has {lm.vocab.codebook_size} motion tokens but "
                              f"data.codebook_size={cfg.data.codebook_size}")
        lm.train()
        return with_training_knobs(lm, cfg.model)
    if cfg.model.preset not in PRESETS + PRETRAINED_PRESETS and not backbone_dir(cfg):
        raise ConfigError(f"model.preset: unknown {cfg.model.preset!r}; expected one of {PRETRAINED_PRESETS + PRESETS}")
    vocab = build_vocab(cfg, captions)
    if backbone_dir(cfg):
        lm = MotionLM.from_backbone_dir(backbone_dir(cfg), vocab)
    elif cfg.model.preset == MINILM_PRESET:
        lm = MotionLM.from_minilm(vocab, cfg.model.decoder_layers, cfg.model.dropout)
    elif cfg.model.preset == SMOLLM2_PRESET:
        lm = MotionLM.from_smollm2(vocab, cfg.model.lora_rank)
    else:
        lm = MotionLM.from_preset(cfg.model.preset, vocab, dropout=cfg.model.dropout, seed=cfg.trainer.seed)
    lm.max_motion_tokens = cfg.model.max_motion_tokens
    return with_training_knobs(lm, cfg.model)


def with_training_knobs(lm: MotionLM, cfg: LMModelConfig) -> MotionLM:
    """`lm` with the stage's encoder learning-rate scale and decoder input corruption set."""
    lm.encoder_lr_scale, lm.input_corruption = cfg.encoder_lr_scale, fraction("model.input_corruption", cfg.input_corruption)
    return lm


def fraction(key: str, value: float) -> float:
    """`value` of config `key` (a share of tokens: length_crop / length_extend / input_corruption), checked to lie
    in [0, 0.5)."""
    if not 0 <= value < 0.5:
        raise ConfigError(f"{key}: must be in [0, 0.5), got {value}")
    return value


def backbone_dir(cfg: LMStageConfig) -> Optional[str]:
    """`model.backbone` (or its old name `model.pretrained`)."""
    return cfg.model.backbone or cfg.model.pretrained


def make_evaluate(lm: MotionLM, dataset: LMDataset, n: int, batch_size: int):
    """A val-loss callback over `n` fixed examples (drawn once with a fixed seed)."""
    rng = random.Random(0)
    examples = [dataset.example(i % len(dataset), rng) for i in range(n)]

    def evaluate(model: MotionLM) -> dict[str, float]:
        total, count = 0.0, 0
        for start in range(0, len(examples), batch_size):
            chunk = examples[start:start + batch_size]
            batch = collate(chunk, model.vocab.pad_id, model.causal).to(model.device)
            total += float(model(batch)) * len(chunk)
            count += len(chunk)
        return {"loss": total / max(count, 1)}

    return evaluate


def training_order(cfg: LMDataConfig, items: list[MotionItem]) -> list[int] | None:
    """Dataset positions balanced over action labels (`data.balance` > 0), None for every motion once."""
    if cfg.balance == 0:
        return None
    order = balanced_order(items, manifest_labels(MotionDir(cfg.root), "data.balance"), cfg.balance)
    log.info("data.balance %.2f: %d positions for %d motions", cfg.balance, len(order), len(items))
    return order


def caption_noise(cfg: LMDataConfig) -> CaptionNoise | None:
    """`data.caption_rewrite` / `data.caption_typos` as a CaptionNoise (None when both are 0); rewriting needs the
    action labels of a Bandai manifest."""
    if cfg.caption_rewrite == 0 and cfg.caption_typos == 0:
        return None
    labels = None
    if cfg.caption_rewrite > 0:
        labels = {mid: lab.label for mid, lab in manifest_labels(MotionDir(cfg.root), "data.caption_rewrite").items()}
    return CaptionNoise(cfg.caption_rewrite, cfg.caption_typos, labels)


def weighted_tasks(cfg: LMDataConfig, stage: str = "instruct") -> list[Task]:
    """The stage's tasks (or `cfg.tasks`) with `cfg.task_weights` replacing their templates.json weights."""
    tasks = tasks_for(cfg.tasks or STAGE_TASKS[stage])
    unknown = sorted(set(cfg.task_weights) - {t.name for t in tasks})
    if unknown:
        raise ConfigError(f"data.task_weights: {unknown} not among the stage's tasks {[t.name for t in tasks]}")
    bad = {k: w for k, w in cfg.task_weights.items() if not (isinstance(w, (int, float)) and w > 0)}
    if bad:
        raise ConfigError(f"data.task_weights: weights must be > 0, got {bad}")
    return [replace(t, weight=float(cfg.task_weights.get(t.name, t.weight))) for t in tasks]


def run(cfg: LMStageConfig, resume: bool = False) -> Path:
    """Train one stage; returns the export directory of the last model."""
    if not cfg.data.tokens:
        raise ConfigError("data.tokens: the token cache directory is required (--tokens)")
    items = load_items(cfg.data.root, cfg.data.tokens, cfg.data.split, cfg.data.codebook_size)
    lm = build_lm(cfg, [c.text for it in items for c in it.captions])
    tasks = weighted_tasks(cfg.data, cfg.stage)
    train_set = LMDataset(cfg.data.root, cfg.data.tokens, cfg.data.split, tasks, lm.vocab, items=items,
                          order=training_order(cfg.data, items),
                          crop=fraction("data.length_crop", cfg.data.length_crop),
                          extend=fraction("data.length_extend", cfg.data.length_extend),
                          noise=caption_noise(cfg.data))
    evaluate = None
    if cfg.data.val_examples > 0:
        try:
            val_set = LMDataset(cfg.data.root, cfg.data.tokens, cfg.data.val_split, tasks, lm.vocab)
            evaluate = make_evaluate(lm, val_set, cfg.data.val_examples, cfg.trainer.batch_size)
        except (FileNotFoundError, ValueError) as err:
            log.warning("no validation (%s)", err)
    from motiongpt.train.engine import Trainer

    trainer = Trainer(lm, cfg.trainer, train_set, lambda b: collate(b, lm.vocab.pad_id, lm.causal),
                      evaluate=evaluate, best_metric="loss" if evaluate else None,
                      export=lambda m, d: m.save_pretrained(d), stage_config=cfg)
    result = trainer.fit(resume=resume)
    print(f"step {result.step}: " + ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items()))
    return Path(cfg.trainer.run_dir) / "export" / "last"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(prog="motiongpt train lm", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Overrides: dotted keys, e.g. trainer.batch_size=16 model.preset=small "
                                       "data.tasks=[t2m,m2t]")
    p.add_argument("--stage", choices=("pretrain", "instruct"), help="stage 2 (pretrain) or 3 (instruct)")
    p.add_argument("--config", type=Path, help="YAML preset, e.g. configs/lm/cpu.yaml")
    p.add_argument("--data", help="dataset directory in HumanML3D layout (data.root)")
    p.add_argument("--tokens", help="token cache directory with <id>.npy (data.tokens)")
    p.add_argument("--init", help="MotionLM directory to start from (e.g. <pretrain run>/export/last)")
    p.add_argument("--run-dir", help="output directory (trainer.run_dir)")
    p.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    p.add_argument("overrides", nargs="*", help="key.sub=value config overrides")
    args = p.parse_args(argv)
    extra = [f"{key}={value}" for key, value in (("stage", args.stage), ("data.root", args.data),
                                                 ("data.tokens", args.tokens), ("init", args.init),
                                                 ("trainer.run_dir", args.run_dir)) if value]
    return args, list(args.overrides) + extra


def main(argv: list[str]) -> int:
    args, overrides = parse_args(argv)
    if args.config is not None and not args.config.is_file():
        print(f"motiongpt train lm: config file not found: {args.config}", file=sys.stderr)
        return 2
    try:
        cfg = load_config(LMStageConfig, args.config, overrides)
        out = run(cfg, resume=args.resume)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"motiongpt train lm: {err}", file=sys.stderr)
        return 2
    print(f"model exported to {out}")
    return 0
