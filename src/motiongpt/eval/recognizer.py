"""Action recogniser: a small motion classifier over the Bandai content labels, the judge of `eval actions`.

    rec = ActionRecognizer.from_pretrained("checkpoints/default/recognizer")
    pred = rec.predict([features_a, features_b])      # raw (T_i, 263) features -> pred.indices, pred.probs
    [rec.labels[i] for i in pred.indices]              # e.g. ["wave-left-hand", "run"]

    python -m motiongpt.eval.recognizer --model checkpoints/default/recognizer --data data/bandai \
        --split test --out results/recognizer       # accuracy (set 1 / set 2) + confusion -> .json and .md

Labels are the 25 keys of `motiongpt.data.captions.CONTENTS` (the set prefix dropped, so set-1 and set-2
`walk`/`run` share a label); left and right stay distinct, and a mirrored motion (`M<id>`, see
`motiongpt.data.layout`) takes the mirrored label (`swap_left_right`: wave-left-hand <-> wave-right-hand,
walk-turn-left <-> walk-turn-right, raise-up-left-hand <-> raise-up-right-hand, walk-left <-> walk-right).
Each original motion's label is read from `manifest.json` (`motions[id].clip` is the take name
`dataset-N_content_style_take`). Network: the dataset's Mean/Std (buffers) normalise raw features, three
1-D convolutions (the later two with stride 2) with GELU and channel LayerNorm, masked mean + max pooling over
time, a linear head; variable lengths are masked. Train it with `motiongpt train recognizer`.

How this differs from the "action recognition accuracy" of Action2Motion / ACTOR (Guo et al. 2020,
Petrovich et al. 2021): theirs is a GRU classifier trained on HumanAct12 / UESTC action classes, used on
motions generated *from an action label*. Ours is a convolutional classifier trained on the Bandai content
labels of our own train split (left/right distinct, mirrored motions with mirrored labels), and it judges
motions generated *from free text* (`motiongpt eval actions`); numbers are not comparable with theirs.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from motiongpt.data.captions import CONTENTS
from motiongpt.data.labels import label_of, read_motion_labels
from motiongpt.data.layout import MotionDir, original_id
from motiongpt.utils import atomic_path, atomic_write_json, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
KIND = "action_recognizer"
LABELS: tuple[str, ...] = tuple(CONTENTS)


# ---- model ---------------------------------------------------------------------------------------------------
@dataclass
class RecognizerConfig:
    """Sizes of the recogniser."""

    dim_pose: int = 263
    width: int = 256
    kernel: int = 5
    layers: int = 3  # the first convolution keeps the frame rate, the others halve it
    dropout: float = 0.2


@dataclass
class ClipBatch:
    """Padded labelled clips: raw features (B, T, D), lengths (B,), label indices (B,)."""

    features: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor

    def to(self, device: torch.device | str) -> ClipBatch:
        """The batch on `device`."""
        return ClipBatch(self.features.to(device), self.lengths.to(device), self.labels.to(device))


@dataclass
class Prediction:
    """Recogniser output: label indices (N,), class probabilities (N, K) and the label names."""

    indices: np.ndarray
    probs: np.ndarray
    labels: list[str]

    @property
    def names(self) -> list[str]:
        """Predicted label names."""
        return [self.labels[i] for i in self.indices]


class _ChannelNorm(nn.Module):
    """LayerNorm over channels of a (B, C, T) tensor."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ActionRecognizer(nn.Module):
    """Raw features (B, T, D) + lengths -> logits (B, K) over `labels` (see the module docstring)."""

    def __init__(self, cfg: RecognizerConfig, labels: Sequence[str], mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        if mean.shape != (cfg.dim_pose,) or std.shape != (cfg.dim_pose,):
            raise ValueError(f"mean {mean.shape} / std {std.shape} must be ({cfg.dim_pose},)")
        if cfg.layers < 1 or cfg.kernel % 2 == 0:
            raise ValueError(f"layers must be >= 1 and kernel odd, got {cfg.layers} / {cfg.kernel}")
        self.cfg, self.labels = cfg, list(labels)
        convs, norms = [], []
        for i in range(cfg.layers):
            convs.append(nn.Conv1d(cfg.dim_pose if i == 0 else cfg.width, cfg.width, cfg.kernel,
                                   stride=1 if i == 0 else 2, padding=cfg.kernel // 2))
            norms.append(_ChannelNorm(cfg.width))
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.width, len(self.labels))
        self.register_buffer("mean", torch.from_numpy(np.asarray(mean, np.float32).copy()))
        self.register_buffer("std", torch.from_numpy(np.asarray(std, np.float32).copy()))
        self.register_buffer("class_weights", torch.ones(len(self.labels)), persistent=False)

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, D), lengths (B,) -> logits (B, K); frames past each length are ignored."""
        if features.ndim != 3 or features.shape[-1] != self.cfg.dim_pose:
            raise ValueError(f"features must be (B, T, {self.cfg.dim_pose}), got {tuple(features.shape)}")
        lengths = lengths.to(features.device).clamp(min=1)
        mask = torch.arange(features.shape[1], device=features.device)[None] < lengths[:, None]  # (B, T)
        x = ((features - self.mean) / self.std * mask[..., None]).transpose(1, 2)  # (B, D, T)
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if i > 0:
                lengths = (lengths + 1) // 2
            x = self.dropout(norm(F.gelu(conv(x))))
            mask = torch.arange(x.shape[2], device=x.device)[None] < lengths[:, None]  # (B, T_i)
            x = x * mask[:, None]
        mean = x.sum(2) / lengths[:, None]
        peak = x.masked_fill(~mask[:, None], float("-inf")).amax(2)
        return self.head(self.dropout(torch.cat([mean, peak], dim=1)))

    def training_loss(self, batch: ClipBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Class-weighted cross-entropy (weights: `class_weights`), and the batch accuracy."""
        logits = self(batch.features, batch.lengths)
        loss = F.cross_entropy(logits, batch.labels, weight=self.class_weights)
        return loss, {"acc": (logits.argmax(1) == batch.labels).float().mean().detach()}

    @torch.no_grad()
    def predict(self, features: Sequence[np.ndarray | torch.Tensor] | torch.Tensor,
                lengths: torch.Tensor | None = None, batch_size: int = 64) -> Prediction:
        """Label indices and probabilities of raw motions: a list of (T_i, D) or a padded (B, T, D) batch."""
        from motiongpt.data.datasets import pad_features

        self.eval()
        if isinstance(features, torch.Tensor) and features.ndim == 3:
            lens = lengths if lengths is not None else torch.full((features.shape[0],), features.shape[1])
            items = [features[i, : int(n)] for i, n in enumerate(lens)]
        else:
            items = [torch.as_tensor(np.asarray(f, np.float32)) for f in features]
        probs = []
        for s in range(0, len(items), batch_size):
            x, lens = pad_features(items[s:s + batch_size])
            probs.append(self(x.to(self.device, torch.float32), lens.to(self.device)).softmax(-1).cpu())
        p = torch.cat(probs).numpy() if probs else np.zeros((0, len(self.labels)), np.float32)
        return Prediction(p.argmax(1), p, self.labels)

    # ---- persistence ---------------------------------------------------------------------------------------
    def save_pretrained(self, out_dir: str | Path, half: bool = False) -> None:
        """config.json (sizes + label list) and model.safetensors (weights stored as float16 with `half`; the
        input Mean/Std always float32)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        dtype = torch.float16 if half else torch.float32
        state = {k: v.detach().cpu().to(torch.float32 if k in ("mean", "std") else dtype).contiguous()
                 for k, v in self.state_dict().items()}
        with atomic_path(out / WEIGHTS_NAME) as tmp:
            save_file(state, str(tmp))
        atomic_write_json(out / CONFIG_NAME, {"kind": KIND, "config": asdict(self.cfg), "labels": self.labels,
                                              "storage": "float16" if half else "float32"})

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, device: str | torch.device = "cpu") -> ActionRecognizer:
        """Read a directory written by `save_pretrained` (weights are used in float32)."""
        root = Path(model_dir)
        cfg, labels = read_config(root / CONFIG_NAME)
        state = _read_weights(root / WEIGHTS_NAME)
        for key in ("mean", "std"):
            if key not in state:
                raise ValueError(f"{root / WEIGHTS_NAME}: no {key!r} tensor")
        model = cls(cfg, labels, state["mean"].numpy(), state["std"].numpy())
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            raise ValueError(f"{root / WEIGHTS_NAME}: does not match {CONFIG_NAME} ({' '.join(first[1:2]) or first[0]})")
        return model.to(device).eval()


def read_config(path: Path) -> tuple[RecognizerConfig, list[str]]:
    """The validated config and label list of a recogniser directory (one-line errors naming the file)."""
    from motiongpt.config import ConfigError, from_dict

    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (not a recogniser directory)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise ValueError(f"{path}: kind {meta.get('kind') if isinstance(meta, dict) else None!r}, expected {KIND!r}")
    try:
        cfg = from_dict(RecognizerConfig, meta.get("config", {}), prefix="config.")
    except ConfigError as err:
        raise ValueError(f"{path}: {err}") from None
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{path}: labels must be a non-empty list of strings")
    return cfg, labels


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{path}: unreadable safetensors file ({err})") from None
    return {k: v.float() for k, v in state.items()}


def build_recognizer(cfg: RecognizerConfig, data: MotionDir, labels: Sequence[str] = LABELS) -> ActionRecognizer:
    """A fresh recogniser whose input statistics are the dataset's Mean/Std."""
    cfg.dim_pose = int(data.mean.shape[0])
    return ActionRecognizer(cfg, labels, data.mean, data.std)


# ---- evaluation report ---------------------------------------------------------------------------------------
def confusion(truth: Sequence[int], pred: Sequence[int], k: int) -> np.ndarray:
    """(K, K) counts: row = true label, column = predicted label."""
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (np.asarray(truth, int), np.asarray(pred, int)), 1)
    return out


def evaluate_split(model: ActionRecognizer, data: MotionDir, split: str) -> dict:
    """Accuracy overall / per Bandai set / per label and the confusion matrix on whole clips of `split`."""
    labels = read_motion_labels(data)
    ids = [m for m in data.ids(split) if data.has_motion(m) and original_id(m) in labels]
    truth = np.array([model.labels.index(label_of(labels, m)) for m in ids])
    pred = model.predict([data.features(m) for m in ids]).indices
    sets = np.array([labels[original_id(m)].set for m in ids], dtype=object)
    correct = pred == truth
    per_set = {s: {"accuracy": float(correct[sets == s].mean()), "clips": int((sets == s).sum())}
               for s in sorted(set(sets))}
    per_label = {model.labels[c]: {"accuracy": float(correct[truth == c].mean()), "clips": int((truth == c).sum())}
                 for c in sorted(set(truth.tolist()))}
    return {"split": split, "clips": len(ids), "accuracy": float(correct.mean()), "per_set": per_set,
            "per_label": per_label, "labels": model.labels,
            "confusion": confusion(truth, pred, len(model.labels)).tolist()}


def report_markdown(report: dict) -> str:
    """Accuracy lines and the confusion table (labels that occur as truth or prediction only)."""
    mat = np.asarray(report["confusion"])
    used = [i for i in range(len(mat)) if mat[i].sum() or mat[:, i].sum()]
    lines = [f"### Action recogniser on {report['split']} ({report['clips']} clips)", "",
             f"Accuracy: {report['accuracy']:.3f} overall; " + "; ".join(
                 f"{s}: {v['accuracy']:.3f} ({v['clips']} clips)" for s, v in report["per_set"].items()), "",
             "Rows: true label; columns: predicted label (numbered as the rows).", "",
             "| true \\ predicted | n | acc | " + " | ".join(str(j) for j in range(len(used))) + " |",
             "|---" * (len(used) + 3) + "|"]
    for r, i in enumerate(used):
        n = int(mat[i].sum())
        acc = f"{mat[i, i] / n:.2f}" if n else "–"
        cells = [str(mat[i, j]) if mat[i, j] else "·" for j in used]
        lines.append(f"| {r} {report['labels'][i]} | {n} | {acc} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m motiongpt.eval.recognizer`: accuracy and confusion of a recogniser on a split."""
    p = argparse.ArgumentParser(prog="python -m motiongpt.eval.recognizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="recogniser directory")
    p.add_argument("--data", required=True, help="Bandai dataset directory (with manifest.json)")
    p.add_argument("--split", default="test")
    p.add_argument("--out", help="write <out>.json and <out>.md")
    args = p.parse_args(argv)
    try:
        report = evaluate_split(ActionRecognizer.from_pretrained(args.model), MotionDir(args.data), args.split)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"recognizer: {err}", file=sys.stderr)
        return 2
    markdown = report_markdown(report)
    print(markdown)
    if args.out:
        atomic_write_json(f"{args.out}.json", {"model": args.model, "data": args.data, **report})
        atomic_write_text(f"{args.out}.md", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
