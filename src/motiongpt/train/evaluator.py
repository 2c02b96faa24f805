"""`motiongpt train evaluator`: train the text-motion evaluator used by the metrics, through the shared engine.

    motiongpt train evaluator --data data/bandai --config configs/evaluator/t2m_cpu.yaml [--resume] [a.b=c ...]

`kind: t2m` trains the Guo et al. T2M evaluator (GloVe 6B 50d + POS + BiGRU, movement convolutions + BiGRU,
hinge contrastive loss with shifted negatives, margin 10); `kind: tmr` the MiniLM + transformer evaluator
(InfoNCE). The evaluator keeps the dataset's Mean/Std as its own input statistics. Validation reports
R-Precision top-1/2/3 and MM-Dist on real val motions (pools of 32; chance is 1/32, 2/32, 3/32); the best
(by top-3) and last evaluators are exported to `<run_dir>/export/{best,last}` (load with
`motiongpt.eval.evaluator.load_evaluator`).
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from motiongpt.config import ConfigError, TrainerConfig, load_config
from motiongpt.data.datasets import TextMotionDataset
from motiongpt.data.layout import MotionDir
from motiongpt.eval.evaluator import EvaluatorConfig, T2MEvaluator
from motiongpt.eval.metrics import mm_dist, r_precision
from motiongpt.eval.tmr import TMRConfig, TMREvaluator
from motiongpt.eval.words import VIP_DICT, Vocabulary
from motiongpt.motion.constants import MAX_FRAMES, MIN_FRAMES
from motiongpt.train.stage import parse_stage_args, report, stage_parser

log = logging.getLogger(__name__)


@dataclass
class EvalDataConfig:
    """Which pairs to train and validate on."""

    train_split: str = "train"
    val_split: str = "val"
    min_len: int = MIN_FRAMES
    max_len: int = MAX_FRAMES
    val_pairs: int = 640  # validation pairs drawn (a multiple of 32 is used)


@dataclass
class EvaluatorStageConfig:
    """`motiongpt train evaluator` configuration."""

    kind: Literal["t2m", "tmr"] = "t2m"
    data: EvalDataConfig = field(default_factory=EvalDataConfig)
    t2m: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    tmr: TMRConfig = field(default_factory=TMRConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(run_dir="runs/evaluator"))


def caption_words(data: MotionDir) -> set[str]:
    """Every word of the dataset's `word/POS` caption tokens (all splits), plus the VIP words."""
    words = {w for group in VIP_DICT.values() for w in group}
    for mid in data.ids("all"):
        if data.has_motion(mid) and (data.root / "texts" / f"{mid}.txt").is_file():
            words.update(tok.rpartition("/")[0] for cap in data.captions(mid) for tok in cap.tokens)
    return words


def build_evaluator(cfg: EvaluatorStageConfig, data: MotionDir) -> T2MEvaluator | TMREvaluator:
    """A fresh evaluator of `cfg.kind` whose input statistics are the dataset's Mean/Std."""
    dim = data.mean.shape[0]
    if cfg.kind == "tmr":
        cfg.tmr.dim_pose = dim
        return TMREvaluator(cfg.tmr, data.mean, data.std)
    cfg.t2m.dim_pose = dim
    vocab = Vocabulary.from_glove(caption_words(data))
    cfg.t2m.dim_word = vocab.dim
    log.info("vocabulary: %d words with GloVe vectors", len(vocab.words))
    return T2MEvaluator(cfg.t2m, vocab, data.mean, data.std)


def embed_pairs(model: T2MEvaluator | TMREvaluator, dataset: TextMotionDataset, n: int, batch_size: int = 64,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Text and motion embeddings (n', E) of n' <= n pairs drawn with a fixed seed (n' a multiple of 32 when
    possible)."""
    dataset.generator.manual_seed(seed)
    order = np.random.default_rng(seed).permutation(len(dataset))
    n = min(n, len(dataset))
    n = n - n % 32 if n >= 32 else n
    texts, motions = [], []
    for s in range(0, n, batch_size):
        batch = model.collate([dataset[int(i)] for i in order[s:s + batch_size]])
        texts.append(_text_emb(model, batch))
        motions.append(model.encode_motion(batch.features, batch.lengths))
    return torch.cat(texts).cpu().numpy(), torch.cat(motions).cpu().numpy()


def _text_emb(model: T2MEvaluator | TMREvaluator, batch) -> torch.Tensor:
    """Text embeddings of a collated batch (no re-tokenising)."""
    model.eval()
    with torch.no_grad():
        batch = batch.to(model.device)
        if isinstance(model, TMREvaluator):
            return model.text_embedding(batch.sentences)
        return model.text_embedding(batch.word_ids, batch.pos_ids, batch.cap_lens)


def retrieval_metrics(text: np.ndarray, motion: np.ndarray) -> dict[str, float]:
    """R-Precision top-1/2/3 (pools of 32, or all pairs when fewer) and MM-Dist."""
    top = r_precision(text, motion, top_k=3, pool=min(32, len(text)))
    return {"top1": float(top[0]), "top2": float(top[1]), "top3": float(top[2]), "mm_dist": mm_dist(text, motion)}


def _parser() -> argparse.ArgumentParser:
    return stage_parser("evaluator", __doc__, "dataset directory in HumanML3D layout",
                        "configs/evaluator/t2m_cpu.yaml", run_dir=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `motiongpt train evaluator`."""
    args, overrides = parse_stage_args(_parser(), argv)
    try:
        cfg = load_config(EvaluatorStageConfig, args.config, overrides)
        data = MotionDir(args.data)
        train = TextMotionDataset(data, cfg.data.train_split, cfg.data.min_len, cfg.data.max_len,
                                  unit=cfg.t2m.unit_length)
        val = TextMotionDataset(data, cfg.data.val_split, cfg.data.min_len, cfg.data.max_len,
                                unit=cfg.t2m.unit_length)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f"motiongpt train evaluator: {err}", file=sys.stderr)
        return 2
    from motiongpt.train.engine import Trainer

    model = build_evaluator(cfg, data)

    def evaluate(m: nn.Module) -> dict[str, float]:
        return retrieval_metrics(*embed_pairs(m, val, cfg.data.val_pairs))

    trainer = Trainer(model, cfg.trainer, train, model.collate, evaluate=evaluate, best_metric="top3",
                      best_mode="max", export=lambda m, d: m.save_pretrained(d), stage_config=cfg)
    result = trainer.fit(resume=args.resume)
    report(result, trainer, "evaluator", "top3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
