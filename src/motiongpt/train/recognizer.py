"""`motiongpt train recognizer`: train the action recogniser of `motiongpt eval actions` through the shared engine.

    motiongpt train recognizer --config configs/recognizer/cpu.yaml --data data/bandai --run-dir runs/recognizer \
        [--resume] [a.b=c ...]

Data: every motion of the train split and its mirror (mirrored label, see `motiongpt.eval.recognizer`), labels
from the dataset's manifest.json. Each draw is a random crop of at least `data.min_crop` frames (the whole
clip when shorter), at a random offset. Classes are balanced by cross-entropy weights (n_c)^-balance_power,
normalised to mean 1 over the classes present (0 for labels without a training clip). Validation: accuracy
(micro, and macro over labels) on whole val clips; the best (by accuracy) and last recognisers are exported
to `<run_dir>/export/{best,last}` (`ActionRecognizer.from_pretrained`; float16 storage with `export_half`).
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from motiongpt.config import ConfigError, TrainerConfig, load_config
from motiongpt.data.datasets import pad_features
from motiongpt.data.layout import MotionDir, original_id
from motiongpt.data.labels import label_of, read_motion_labels
from motiongpt.eval.recognizer import ActionRecognizer, ClipBatch, RecognizerConfig, build_recognizer
from motiongpt.motion.constants import MIN_FRAMES
from motiongpt.train.stage import parse_stage_args, report, stage_parser

log = logging.getLogger(__name__)


@dataclass
class RecognizerDataConfig:
    """Which clips to train and validate on, and how."""

    train_split: str = "train"
    val_split: str = "val"
    min_crop: int = MIN_FRAMES  # shortest random crop (frames)
    balance_power: float = 0.5  # class weight (n_c)^-power: 0 = unweighted, 1 = fully balanced


@dataclass
class RecognizerStageConfig:
    """`motiongpt train recognizer` configuration."""

    data: RecognizerDataConfig = field(default_factory=RecognizerDataConfig)
    model: RecognizerConfig = field(default_factory=RecognizerConfig)
    export_half: bool = True  # store the exported weights as float16
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(run_dir="runs/recognizer"))


class LabelledClips:
    """Clips of a split (mirrors included) with label indices; random crops when `min_crop` is set."""

    def __init__(self, data: MotionDir, split: str, labels: Sequence[str], min_crop: int | None = None,
                 generator: torch.Generator | None = None) -> None:
        known = read_motion_labels(data)
        ids = [m for m in data.ids(split) if data.has_motion(m) and original_id(m) in known]
        if not ids:
            raise ValueError(f"{data.root}: split {split!r} has no labelled motion")
        self.ids = ids
        self.features = [torch.from_numpy(data.features(m)) for m in ids]
        self.targets = np.array([list(labels).index(label_of(known, m)) for m in ids])
        self.min_crop = min_crop
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        feats = self.features[index]
        if self.min_crop is not None and feats.shape[0] > self.min_crop:
            n = int(torch.randint(self.min_crop, feats.shape[0] + 1, (1,), generator=self.generator))
            start = int(torch.randint(0, feats.shape[0] - n + 1, (1,), generator=self.generator))
            feats = feats[start:start + n]
        return feats, int(self.targets[index])


def collate_clips(items: Sequence[tuple[torch.Tensor, int]]) -> ClipBatch:
    """(features, label) pairs -> padded `ClipBatch`."""
    features, lengths = pad_features([f for f, _ in items])
    return ClipBatch(features, lengths, torch.tensor([y for _, y in items], dtype=torch.long))


def class_weights(targets: np.ndarray, k: int, power: float) -> torch.Tensor:
    """(K,) weights (n_c)^-power normalised to mean 1 over present classes; 0 for absent ones."""
    counts = np.bincount(targets, minlength=k).astype(np.float64)
    w = np.where(counts > 0, np.maximum(counts, 1.0) ** -power, 0.0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def clip_accuracy(model: ActionRecognizer, clips: LabelledClips) -> dict[str, float]:
    """Accuracy (micro) and macro accuracy (mean over labels present) on whole clips."""
    pred = model.predict([f.numpy() for f in clips.features]).indices
    correct = pred == clips.targets
    macro = np.mean([correct[clips.targets == c].mean() for c in np.unique(clips.targets)])
    return {"acc": float(correct.mean()), "macro_acc": float(macro)}


def _parser() -> argparse.ArgumentParser:
    return stage_parser("recognizer", __doc__, "Bandai dataset directory (HumanML3D layout + manifest.json)",
                        "configs/recognizer/cpu.yaml")


def main(argv: list[str] | None = None) -> int:
    """Entry point of `motiongpt train recognizer`."""
    args, overrides = parse_stage_args(_parser(), argv)
    try:
        cfg = load_config(RecognizerStageConfig, args.config, overrides)
        data = MotionDir(args.data)
        model = build_recognizer(cfg.model, data)
        train = LabelledClips(data, cfg.data.train_split, model.labels, cfg.data.min_crop)
        val = LabelledClips(data, cfg.data.val_split, model.labels)
    except (ConfigError, ValueError, FileNotFoundError, KeyError) as err:
        print(f"motiongpt train recognizer: {err}", file=sys.stderr)
        return 2
    from motiongpt.train.engine import Trainer

    model.class_weights.copy_(class_weights(train.targets, len(model.labels), cfg.data.balance_power))
    log.info("recogniser: %d parameters, %d train clips, %d val clips",
             sum(p.numel() for p in model.parameters()), len(train), len(val))

    def evaluate(m: nn.Module) -> dict[str, float]:
        return clip_accuracy(m, val)

    trainer = Trainer(model, cfg.trainer, train, collate_clips, evaluate=evaluate, best_metric="acc",
                      best_mode="max", export=lambda m, d: m.save_pretrained(d, half=cfg.export_half),
                      stage_config=cfg)
    result = trainer.fit(resume=args.resume)
    report(result, trainer, "recognizer", "val acc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
