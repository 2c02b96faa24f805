"""Stage 1: train the VQ-VAE motion tokenizer (`motiongpt train vq`).

Trains on random `data.window`-frame crops of the train split (MotionWindowDataset), validates every
`trainer.logging.eval_every_steps` on the val split (reconstruction loss, MPJPE, PA-MPJPE, codebook usage) and
writes the best (lowest val MPJPE) and last tokenizers with `save_pretrained` to `<run_dir>/tokenizer/best` and
`<run_dir>/tokenizer/last`. Killed runs continue exactly with `--resume`.

`data.balance` draws motions by action label (as the LM's `data.balance`: 1 = every label equally often, needs a
Bandai manifest). `--init DIR` starts from a saved tokenizer; with `train: decoder` only its decoder learns, through
the frozen encoder and codebook (no EMA update), so every motion keeps its token ids and a language model trained
on the old token cache works unchanged with the new decoder:

    motiongpt train vq --config configs/vq/decoder_balanced.yaml --data data/bandai \
        --init checkpoints/default/tokenizer --run-dir runs/vq_decoder

    motiongpt train vq --config configs/vq/cpu.yaml --data data/bandai --run-dir runs/vq_cpu
    motiongpt train vq --config configs/vq/cpu.yaml --data data/bandai --run-dir runs/vq_cpu --resume
    motiongpt train vq --config configs/vq/tiny.yaml --data data/bandai model.codebook_size=256 trainer.batch_size=64

Multi-GPU / multi-node data parallel (the global `trainer.batch_size` is split over all ranks):

    torchrun --nproc_per_node=8 -m motiongpt.cli train vq --config configs/vq/paper.yaml --data data/humanml3d \\
        --run-dir runs/vq_paper
    # two nodes: on each, add --nnodes=2 --node_rank=<0|1> --rdzv_backend=c10d --rdzv_endpoint=<host0>:29500
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch

from motiongpt.config import ConfigError, Fraction, TrainerConfig, load_config
from motiongpt.data.datasets import MotionWindowDataset, collate_motion
from motiongpt.data.labels import balanced_positions
from motiongpt.data.layout import MotionDir
from motiongpt.eval.recon import reconstruction_table
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig
from motiongpt.train.engine import Trainer
from motiongpt.train.stage import manifest_labels

log = logging.getLogger(__name__)


@dataclass
class VQDataConfig:
    """Where the motions come from and how they are cropped."""

    root: str = "data/bandai"
    window: int = 64
    train_split: str = "train"
    val_split: str = "val"
    val_max_motions: int = 64  # validation subset size (whole motions, first ids of the split)
    balance: Fraction = 0.0  # 0: every motion equally often; 1: every action label (manifest) equally often


@dataclass
class VQStageConfig:
    """`motiongpt train vq` configuration: data, model (architecture + loss weights) and trainer."""

    init: Optional[str] = None  # a saved tokenizer directory to start from (its architecture replaces `model`)
    train: Literal["all", "decoder"] = "all"  # decoder: encoder and codebook frozen, token ids unchanged
    data: VQDataConfig = field(default_factory=VQDataConfig)
    model: TokenizerConfig = field(default_factory=TokenizerConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(run_dir="runs/vq"))


def build_tokenizer(cfg: VQStageConfig, data: MotionDir) -> MotionTokenizer:
    """A fresh tokenizer with the dataset's Mean/Std as its normaliser buffers."""
    mean, std = np.asarray(data.mean, dtype=np.float32), np.asarray(data.std, dtype=np.float32)
    if mean.shape != (cfg.model.feature_dim,):
        raise ConfigError(f"{data.root}/Mean.npy has shape {mean.shape} but model.feature_dim="
                          f"{cfg.model.feature_dim}")
    return MotionTokenizer(cfg.model, mean, std)


def initial_tokenizer(cfg: VQStageConfig, data: MotionDir) -> MotionTokenizer:
    """`--init`'s tokenizer (its normaliser must be the dataset's) or a fresh one; `train: decoder` needs `--init`."""
    if cfg.init is None:
        if cfg.train == "decoder":
            raise ConfigError("train: decoder needs --init (a trained tokenizer whose decoder to fine-tune)")
        return build_tokenizer(cfg, data)
    tokenizer = MotionTokenizer.from_pretrained(cfg.init)
    std = np.asarray(data.std, dtype=np.float32)
    for name, ours in (("Mean", tokenizer.mean), ("Std", tokenizer.std)):  # within 2% of a std: fp16-stored buffers pass
        if (np.abs(ours.numpy() - np.asarray(getattr(data, name.lower()), dtype=np.float32)) / std).max() > 0.02:
            raise ConfigError(f"--init {cfg.init}: its normaliser differs from {data.root}/{name}.npy")
    if cfg.train == "decoder":
        tokenizer.encoder.requires_grad_(False)
    log.info("initialised from %s (train: %s)", cfg.init, cfg.train)
    return tokenizer


def balanced_ids(data: MotionDir, ids: list[str], power: float) -> list[str]:
    """`ids` with each repeated so that every action label is drawn in proportion to n^(1 - power)."""
    return [ids[i] for i in balanced_positions(ids, manifest_labels(data, "data.balance"), power)]


def build_trainer(cfg: VQStageConfig) -> Trainer:
    """Dataset, tokenizer, validation and export hooks wired into a `Trainer`."""
    data = MotionDir(cfg.data.root)
    dataset = MotionWindowDataset(data, cfg.data.train_split, window=cfg.data.window)
    if cfg.data.balance > 0:
        dataset.ids = balanced_ids(data, dataset.ids, cfg.data.balance)
        log.info("data.balance %.2f: %d window draws per epoch", cfg.data.balance, len(dataset.ids))
    torch.manual_seed(cfg.trainer.seed)
    model = initial_tokenizer(cfg, data)
    cfg = replace(cfg, model=model.cfg)  # the saved config records the architecture actually trained

    def evaluate(tokenizer: MotionTokenizer) -> dict[str, float]:
        table = reconstruction_table(tokenizer, data, cfg.data.val_split, max_motions=cfg.data.val_max_motions)
        return {k: v for k, v in table.items() if isinstance(v, float)}

    has_val = (data.root / f"{cfg.data.val_split}.txt").is_file() and bool(data.ids(cfg.data.val_split))
    return Trainer(model, cfg.trainer, dataset, collate_motion,
                   loss_fn=(lambda m, b: m.decoder_loss(b)) if cfg.train == "decoder" else None,
                   evaluate=evaluate if has_val else None, best_metric="mpjpe_mm" if has_val else None,
                   export=lambda m, d: m.save_pretrained(d), export_name="tokenizer", stage_config=cfg)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motiongpt train vq", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="overrides: dotted keys of the config, e.g. model.codebook_size=256 "
                                       "trainer.optim.lr=1e-4 trainer.schedule.max_steps=5000")
    p.add_argument("--config", type=Path, help="YAML config (configs/vq/{tiny,cpu,paper}.yaml)")
    p.add_argument("--data", type=str, help="dataset root in HumanML3D layout (sets data.root)")
    p.add_argument("--run-dir", type=str, help="output folder (sets trainer.run_dir)")
    p.add_argument("--init", type=str, help="saved tokenizer directory to start from (sets init)")
    p.add_argument("--resume", action="store_true", help="continue from the run dir's latest checkpoint")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads per process (default 1: fastest on a shared machine)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    return p


def main(argv: list[str]) -> int:
    """Entry point of `motiongpt train vq`."""
    args = _parser().parse_args(argv)
    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.root={args.data}")
    if args.run_dir:
        overrides.append(f"trainer.run_dir={args.run_dir}")
    if args.init:
        overrides.append(f"init={args.init}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = load_config(VQStageConfig, args.config, overrides)
        trainer = build_trainer(cfg)
        result = trainer.fit(resume=args.resume)
    except (ConfigError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"motiongpt train vq: error: {err}", file=sys.stderr)
        return 2
    if trainer.dist.is_main:
        print(f"done: {result.step} steps; best val MPJPE {result.best}; tokenizer in {trainer.export_dir}")
    return 0
