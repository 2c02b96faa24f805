"""The motion tokenizer: MotionGPT / T2M-GPT 1-D convolutional VQ-VAE over HumanML3D features.

Encoder: conv(D->W) + ReLU, `down_t` x [strided conv (kernel 2s, stride s) + Resnet1D], conv(W->C).
Decoder: conv(C->W) + ReLU, `down_t` x [Resnet1D + nearest upsample x s + conv], conv + ReLU + conv(W->D).
Resnet1D = `depth` residual blocks (ReLU, dilated conv k3, ReLU, conv k1) with dilations growth**i, reversed.
Quantiser: `EMAQuantizer` (EMA codebook, dead-code reset). The normaliser (mean/std) is stored as buffers, so
`encode` takes raw features and `decode` returns raw features; `state_dict()` is a complete resume state.

Token length: a motion of T frames gives floor(T / 4) tokens (each stride-2 conv maps L -> floor(L / 2));
`decode` returns 4 N frames for N tokens. Batches of different lengths are exact: every kernel > 1 conv
sees zeros past each sequence's end, as it would for that sequence alone.

Usage::

    tok = MotionTokenizer.from_pretrained("runs/vq_cpu/tokenizer/best")
    ids = tok.encode(features, lengths)           # features (B, T, D) raw -> [LongTensor (T_i // 4,)]
    recon, rec_lengths = tok.decode(ids)          # (B, 4 max N_i, D) raw, (B,)
"""
from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_model
from torch import nn

from motiongpt.data.datasets import MotionBatch
from motiongpt.motion.features import features_to_joints, layout_for_dim
from motiongpt.tokenizer.quantizer import EMAQuantizer
from motiongpt.config import NonNegativeFloat, NonNegativeInt, PositiveInt, Range, load_saved_config
from motiongpt.utils import atomic_dir, atomic_write_json, load_weights

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "motiongpt-vqvae-1"


@dataclass
class TokenizerConfig:
    """Architecture and loss weights of the VQ-VAE (defaults = MotionGPT / T2M-GPT paper preset)."""

    feature_dim: PositiveInt = 263
    codebook_size: PositiveInt = 512
    code_dim: PositiveInt = 512
    width: PositiveInt = 512
    depth: PositiveInt = 3
    dilation_growth: PositiveInt = 3
    down_t: NonNegativeInt = 2
    stride_t: PositiveInt = 2
    ema_decay: Annotated[float, Range(0, 1, open_low=True)] = 0.99
    reset_threshold: NonNegativeFloat = 1.0  # codes whose EMA count drops below this are reset
    lambda_feature: NonNegativeFloat = 1.0  # smooth-L1 on normalised features
    lambda_ric: NonNegativeFloat = 0.5  # smooth-L1 on the normalised joint-position (ric) features, T2M-GPT's "vel" term
    lambda_joints: NonNegativeFloat = 0.0  # L1 (metres) on joints recovered from denormalised features
    beta: NonNegativeFloat = 0.02  # commitment weight (MotionGPT)
    loss: Literal["smooth_l1", "l1", "l2"] = "smooth_l1"


# --------------------------------------------------------------------------------------------------------------
# Masked 1-D convolution blocks
# --------------------------------------------------------------------------------------------------------------


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """x (B, C, T) with frames where mask (B, T) is False set to zero."""
    return x if mask is None else x * mask[:, None, :].to(x.dtype)


class ResBlock(nn.Module):
    """ReLU -> dilated conv k3 -> ReLU -> conv k1, plus the input."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = self.conv1(_masked(F.relu(x), mask))
        return x + self.conv2(F.relu(h))


class Resnet1D(nn.Module):
    """`depth` ResBlocks with dilations growth**i in reversed order (T2M-GPT `reverse_dilation=True`)."""

    def __init__(self, width: int, depth: int, growth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(width, growth**i) for i in reversed(range(depth)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


def _downsample_mask(mask: torch.Tensor | None, stride: int) -> torch.Tensor | None:
    """Frame mask (B, L) -> mask of a stride-`stride` conv output (B, floor(L / stride))."""
    if mask is None:
        return None
    lengths = mask.sum(-1) // stride
    return torch.arange(mask.shape[1] // stride, device=mask.device)[None] < lengths[:, None]


class Encoder(nn.Module):
    """(B, D, T) features -> (B, C, T / stride**down_t)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        s = cfg.stride_t
        self.stride = s
        self.conv_in = nn.Conv1d(cfg.feature_dim, cfg.width, 3, padding=1)
        self.downs = nn.ModuleList(nn.Conv1d(cfg.width, cfg.width, 2 * s, stride=s, padding=s // 2) for _ in range(cfg.down_t))
        self.resnets = nn.ModuleList(Resnet1D(cfg.width, cfg.depth, cfg.dilation_growth) for _ in range(cfg.down_t))
        self.conv_out = nn.Conv1d(cfg.width, cfg.code_dim, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = F.relu(self.conv_in(_masked(x, mask)))
        for down, resnet in zip(self.downs, self.resnets):
            x = down(_masked(x, mask))
            mask = _downsample_mask(mask, self.stride)
            x = resnet(x, mask)
        return self.conv_out(_masked(x, mask))


class Decoder(nn.Module):
    """(B, C, N) code vectors -> (B, D, N * stride**down_t)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.stride = cfg.stride_t
        self.conv_in = nn.Conv1d(cfg.code_dim, cfg.width, 3, padding=1)
        self.resnets = nn.ModuleList(Resnet1D(cfg.width, cfg.depth, cfg.dilation_growth) for _ in range(cfg.down_t))
        self.ups = nn.ModuleList(nn.Conv1d(cfg.width, cfg.width, 3, padding=1) for _ in range(cfg.down_t))
        self.conv_mid = nn.Conv1d(cfg.width, cfg.width, 3, padding=1)
        self.conv_out = nn.Conv1d(cfg.width, cfg.feature_dim, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = F.relu(self.conv_in(_masked(x, mask)))
        for resnet, up in zip(self.resnets, self.ups):
            x = resnet(x, mask)
            x = F.interpolate(x, scale_factor=self.stride, mode="nearest")
            mask = None if mask is None else mask.repeat_interleave(self.stride, dim=1)
            x = up(_masked(x, mask))
        x = F.relu(self.conv_mid(_masked(x, mask)))
        return self.conv_out(_masked(x, mask))


# --------------------------------------------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------------------------------------------


@dataclass
class VQOutput:
    """Result of a training forward pass on normalised features."""

    recon: torch.Tensor  # (B, T', D) normalised, T' = (T // 4) * 4
    codes: list[torch.Tensor]  # [(N_i,)]
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    usage: torch.Tensor


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean elementwise loss over valid frames; pred/target (B, T, ...), mask (B, T) bool."""
    fn = {"smooth_l1": F.smooth_l1_loss, "l1": F.l1_loss, "l2": F.mse_loss}[kind]
    per_elem = fn(pred, target, reduction="none")  # (B, T, ...)
    weights = mask.to(per_elem.dtype).reshape(mask.shape + (1,) * (per_elem.ndim - 2)).expand_as(per_elem)
    return (per_elem * weights).sum() / weights.sum().clamp_min(1.0)


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class MotionTokenizer(nn.Module):
    """VQ-VAE motion tokenizer (see the module docstring); build with `MotionTokenizer(cfg, mean, std)`."""

    def __init__(self, cfg: TokenizerConfig, mean: np.ndarray | torch.Tensor | None = None,
                 std: np.ndarray | torch.Tensor | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        mean_t = torch.zeros(cfg.feature_dim) if mean is None else torch.as_tensor(np.asarray(mean), dtype=torch.float32)
        std_t = torch.ones(cfg.feature_dim) if std is None else torch.as_tensor(np.asarray(std), dtype=torch.float32)
        for name, value in (("mean", mean_t), ("std", std_t)):
            if value.shape != (cfg.feature_dim,):
                raise ValueError(f"{name} has shape {tuple(value.shape)}, expected ({cfg.feature_dim},)")
        self.register_buffer("mean", mean_t.clone())
        self.register_buffer("std", std_t.clone())
        self.encoder = Encoder(cfg)
        self.quantizer = EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay, cfg.reset_threshold)
        self.decoder = Decoder(cfg)

    @property
    def codebook_size(self) -> int:
        """Number of motion tokens K."""
        return self.cfg.codebook_size

    @property
    def downsample(self) -> int:
        """Frames per token (4 for the paper preset)."""
        return self.cfg.stride_t**self.cfg.down_t

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw features (..., D) -> normalised."""
        return (x - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised features (..., D) -> raw."""
        return x * self.std + self.mean

    def token_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frame counts (B,) -> token counts (B,) = floor(T / 4)."""
        return lengths // self.downsample

    def _check_features(self, features: torch.Tensor, lengths: torch.Tensor) -> None:
        if features.ndim != 3 or features.shape[-1] != self.cfg.feature_dim:
            raise ValueError(f"features must be (B, T, {self.cfg.feature_dim}), got {tuple(features.shape)}")
        if lengths.shape != features.shape[:1]:
            raise ValueError(f"lengths must be ({features.shape[0]},), got {tuple(lengths.shape)}")
        if int(lengths.min()) < self.downsample or int(lengths.max()) > features.shape[1]:
            raise ValueError(f"lengths must lie in [{self.downsample}, {features.shape[1]}], got "
                             f"{lengths.min().item()}..{lengths.max().item()}")

    def _encode_latents(self, x_norm: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised (B, T, D) -> latents (B, N_max, C) and token mask (B, N_max)."""
        full = bool((lengths == x_norm.shape[1]).all())
        mask = None if full else length_mask(lengths, x_norm.shape[1])
        z = self.encoder(x_norm.transpose(1, 2), mask).transpose(1, 2)  # (B, N_max, C)
        return z, length_mask(self.token_lengths(lengths), z.shape[1])

    def _decode_latents(self, q: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """Code vectors (B, N, C) -> normalised features (B, 4N, D)."""
        mask = None if bool(token_mask.all()) else token_mask
        return self.decoder(q.transpose(1, 2), mask).transpose(1, 2)

    def forward(self, x_norm: torch.Tensor, lengths: torch.Tensor) -> VQOutput:
        """Normalised features (B, T, D) -> reconstruction, codes, commitment loss, code statistics."""
        z, token_mask = self._encode_latents(x_norm, lengths)  # (B, N, C), (B, N)
        out = self.quantizer(z[token_mask])  # valid latents (M, C)
        q = torch.zeros_like(z, dtype=out.quantized.dtype)  # the quantizer works in fp32 (also under autocast)
        q[token_mask] = out.quantized
        recon = self._decode_latents(q, token_mask)  # (B, 4N, D)
        n_tokens = token_mask.sum(-1).tolist()
        return VQOutput(recon, list(out.codes.split(n_tokens)), out.commit_loss, out.perplexity, out.usage)

    def training_loss(self, batch: MotionBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss on a `MotionBatch` of normalised features: feature + ric + joint terms + beta * commitment."""
        out = self(batch.features, batch.lengths)
        loss, stats = self._reconstruction_loss(out.recon, batch)
        stats.update(commit=out.commit_loss.detach(), perplexity=out.perplexity, usage=out.usage)
        return loss + self.cfg.beta * out.commit_loss, stats

    def decoder_loss(self, batch: MotionBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction loss through frozen codes: the encoder and codebook run without gradient or EMA update,
        so only the decoder learns and every motion keeps its token ids (a fine-tuned decoder for a cached LM)."""
        with torch.no_grad():
            z, token_mask = self._encode_latents(batch.features, batch.lengths)
            q = torch.zeros_like(z, dtype=torch.float32)
            q[token_mask] = self.quantizer.lookup(self.quantizer.nearest(z[token_mask]))
        return self._reconstruction_loss(self._decode_latents(q, token_mask), batch)

    def _reconstruction_loss(self, recon: torch.Tensor, batch: MotionBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Weighted feature + ric (+ joint) terms of a reconstruction (B, T', D) of a batch, and the detached terms."""
        cfg = self.cfg
        frames = recon.shape[1]
        target = batch.features[:, :frames]  # (B, T', D)
        mask = length_mask(self.token_lengths(batch.lengths) * self.downsample, frames)  # (B, T')
        layout = layout_for_dim(cfg.feature_dim)
        terms = {"recon": masked_loss(recon, target, mask, cfg.loss),
                 "ric": masked_loss(layout.get(recon, "ric"), layout.get(target, "ric"), mask, cfg.loss)}
        if cfg.lambda_joints > 0:
            joints = features_to_joints(self.denormalize(recon), layout)  # (B, T', J, 3)
            target_joints = features_to_joints(self.denormalize(target), layout)
            terms["joints"] = masked_loss(joints, target_joints, mask, "l1")
        loss = (cfg.lambda_feature * terms["recon"] + cfg.lambda_ric * terms["ric"]
                + cfg.lambda_joints * terms.get("joints", 0.0))
        return loss, {k: v.detach() for k, v in terms.items()}

    @torch.no_grad()
    def encode(self, features: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None) -> list[torch.Tensor]:
        """Raw features (B, T, D) and lengths (B,) -> token ids [LongTensor (T_i // 4,)] (no codebook update)."""
        features = features.to(self.mean.device, torch.float32)
        lengths = self._as_lengths(lengths, features)
        self._check_features(features, lengths)
        z, token_mask = self._encode_latents(self.normalize(features), lengths)
        codes = self.quantizer.nearest(z[token_mask])  # (M,)
        return list(codes.split(token_mask.sum(-1).tolist()))

    @torch.no_grad()
    def decode(self, ids: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids [(N_i,)] -> raw features (B, 4 max N_i, D) zero-padded, and lengths (B,) = 4 N_i."""
        if not ids:
            raise ValueError("decode needs at least one id sequence")
        device = self.mean.device
        ids = [torch.as_tensor(i, dtype=torch.long, device=device).flatten() for i in ids]
        for k, seq in enumerate(ids):
            if seq.numel() == 0 or int(seq.min()) < 0 or int(seq.max()) >= self.codebook_size:
                raise ValueError(f"ids[{k}] must be a non-empty sequence of ids in [0, {self.codebook_size})")
        n = torch.tensor([len(i) for i in ids], device=device)
        padded = torch.zeros(len(ids), int(n.max()), dtype=torch.long, device=device)
        for k, seq in enumerate(ids):
            padded[k, : len(seq)] = seq
        token_mask = length_mask(n, padded.shape[1])
        recon = self.denormalize(self._decode_latents(self.quantizer.lookup(padded), token_mask))  # (B, 4N, D)
        lengths = n * self.downsample
        return recon * length_mask(lengths, recon.shape[1])[..., None], lengths

    def _as_lengths(self, lengths: torch.Tensor | Sequence[int] | None, features: torch.Tensor) -> torch.Tensor:
        if lengths is None:
            return torch.full((features.shape[0],), features.shape[1], dtype=torch.long, device=features.device)
        return torch.as_tensor(lengths, dtype=torch.long, device=features.device).flatten()

    # ---- persistence -------------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | os.PathLike, dtype: str | None = None) -> None:
        """Write `model.safetensors` and `config.json` into `directory`, swapped in at once; `dtype` ("float16")
        stores floating-point tensors at that precision (`from_pretrained` loads them back as fp32)."""
        with atomic_dir(directory) as tmp:
            if dtype is None:
                save_model(self, str(tmp / WEIGHTS_NAME))
            else:
                from safetensors.torch import save_file

                low = getattr(torch, dtype)
                save_file({k: (v.to(low) if v.is_floating_point() else v).contiguous().cpu()
                           for k, v in self.state_dict().items()}, str(tmp / WEIGHTS_NAME))
            atomic_write_json(tmp / CONFIG_NAME, {"format": FORMAT, **asdict(self.cfg)})

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: str | torch.device = "cpu") -> MotionTokenizer:
        """Load a tokenizer saved by `save_pretrained` (no pickle)."""
        directory = Path(directory)
        for path in (directory / CONFIG_NAME, directory / WEIGHTS_NAME):
            if not path.is_file():
                raise FileNotFoundError(f"not a motion tokenizer directory: {path} is missing")
        model = cls(load_saved_config(TokenizerConfig, directory / CONFIG_NAME, expect={"format": FORMAT}))
        load_weights(model, directory / WEIGHTS_NAME, device=str(device))
        return model.to(device).eval()


def blend_decoders(base: MotionTokenizer, tuned: MotionTokenizer, weight: float) -> MotionTokenizer:
    """A copy of `base` whose decoder weights are (1 - weight) * base's + weight * tuned's: weight-space ensembling
    (WiSE-FT) of a decoder-only fine-tune. Encoder, codebook and normaliser -- hence every token id -- must be equal
    in both (`tuned` a `train: decoder` run started from `base`); anything else is refused.

        shipped = blend_decoders(MotionTokenizer.from_pretrained(a), MotionTokenizer.from_pretrained(b), 0.3)
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend_decoders: weight must be in [0, 1], got {weight}")
    if base.cfg != tuned.cfg:
        raise ValueError("blend_decoders: the two tokenizers have different configs")
    a, b = base.state_dict(), tuned.state_dict()
    differ = [k for k in a if not k.startswith("decoder.") and not torch.equal(a[k], b[k])]
    if differ:
        raise ValueError(f"blend_decoders: {differ[0]} differs ({len(differ)} tensors outside the decoder): only a "
                         "decoder-only fine-tune of the same tokenizer can be blended")
    out = copy.deepcopy(base)
    out.load_state_dict({k: torch.lerp(v, b[k], weight) if k.startswith("decoder.") and v.is_floating_point() else v
                         for k, v in a.items()})
    return out
