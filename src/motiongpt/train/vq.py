"""Stage 1: train the VQ-VAE motion tokenizer (`motiongpt train vq`).

Trains on random `data.window`-frame crops of the train split (MotionWindowDataset), validates every
`trainer.logging.eval_every_steps` on the val split (reconstruction loss, MPJPE, PA-MPJPE, codebook usage) and
writes the best (lowest val MPJPE) and last tokenizers with `save_pretrained` to `<run_dir>/tokenizer/best` and
`<run_dir>/tokenizer/last`. Killed runs continue exactly with `--resume`.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from motiongpt.config import ConfigError, TrainerConfig, load_config
from motiongpt.data.datasets import MotionWindowDataset, collate_motion
from motiongpt.dist import shutdown
from motiongpt.data.layout import MotionDir
from motiongpt.eval.recon import reconstruction_table
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig
from motiongpt.train.engine import Trainer

log = logging.getLogger(__name__)


@dataclass
class VQDataConfig:
    """Where the motions come from and how they are cropped."""

    root: str = "data/bandai"
    window: int = 64
    train_split: str = "train"
    val_split: str = "val"
    val_max_motions: int = 64  # validation subset size (whole motions, first ids of the split)


@dataclass
class VQStageConfig:
    """`motiongpt train vq` configuration: data, model (architecture + loss weights) and trainer."""

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


def build_trainer(cfg: VQStageConfig) -> Trainer:
    """Dataset, tokenizer, validation and export hooks wired into a `Trainer`."""
    data = MotionDir(cfg.data.root)
    dataset = MotionWindowDataset(data, cfg.data.train_split, window=cfg.data.window)
    torch.manual_seed(cfg.trainer.seed)
    model = build_tokenizer(cfg, data)

    def evaluate(tokenizer: MotionTokenizer) -> dict[str, float]:
        table = reconstruction_table(tokenizer, data, cfg.data.val_split, max_motions=cfg.data.val_max_motions)
        return {k: v for k, v in table.items() if isinstance(v, float)}

    has_val = (data.root / f"{cfg.data.val_split}.txt").is_file() and bool(data.ids(cfg.data.val_split))
    return Trainer(model, cfg.trainer, dataset, collate_motion,
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = load_config(VQStageConfig, args.config, overrides)
        trainer = build_trainer(cfg)
        result = trainer.fit(resume=args.resume)
    except (ConfigError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"motiongpt train vq: error: {err}", file=sys.stderr)
        return 2
    finally:
        shutdown()
    if trainer.dist.is_main:
        print(f"done: {result.step} steps; best val MPJPE {result.best}; tokenizer in {trainer.export_dir}")
    return 0
