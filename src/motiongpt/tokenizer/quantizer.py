"""EMA vector quantiser with dead-code reset (T2M-GPT's `QuantizeEMAReset`), all state in buffers.

Buffers: `codebook` (K, C), `code_sum` (K, C) and `code_count` (K,) exponential moving averages of the
encoder outputs assigned to each code and of their number, `initted` (bool, the codebook is initialised from
the first training batch). After every training update `codebook == code_sum / code_count[:, None]` holds
for every code: live codes move to the mean of their assignments, and codes whose EMA count falls below
`reset_threshold` are reset to random encoder outputs of the batch (sum = vector, count = 1). Under
torch.distributed the statistics are summed over ranks and the random picks come from rank 0, so every
rank keeps an identical codebook.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from motiongpt import dist as D


@dataclass
class QuantizerOutput:
    """Quantised vectors (N, C) with a straight-through gradient, their codes (N,), commitment loss, stats."""

    quantized: torch.Tensor
    codes: torch.Tensor
    commit_loss: torch.Tensor
    perplexity: torch.Tensor
    usage: torch.Tensor  # fraction of the codebook used by this batch


class EMAQuantizer(nn.Module):
    """K x C codebook, nearest-neighbour assignment, EMA updates (decay `mu`) and dead-code reset."""

    def __init__(self, codebook_size: int, code_dim: int, mu: float = 0.99, reset_threshold: float = 1.0) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.mu = mu
        self.reset_threshold = reset_threshold
        self.register_buffer("codebook", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_sum", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_count", torch.zeros(codebook_size))
        self.register_buffer("initted", torch.zeros((), dtype=torch.bool))

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C) -> indices (N,) of the closest codes (squared Euclidean distance)."""
        cb = self.codebook.float()
        dist = x.float().pow(2).sum(-1, keepdim=True) - 2 * x.float() @ cb.t() + cb.pow(2).sum(-1)[None]  # (N, K)
        return dist.argmin(dim=-1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (...) -> code vectors (..., C)."""
        return F.embedding(codes, self.codebook)

    def _random_rows(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """n rows of x (N, C) drawn at random (repeated with small noise when N < n), identical on all ranks."""
        if x.shape[0] < n:
            reps = -(-n // x.shape[0])
            std = 0.01 / (x.shape[1] ** 0.5)
            x = torch.cat([x + torch.randn_like(x) * std * (i > 0) for i in range(reps)])
        picked = x[torch.randperm(x.shape[0], device=x.device)[:n]].contiguous()
        return D.broadcast(picked, src=0)

    @torch.no_grad()
    def _init_codebook(self, x: torch.Tensor) -> None:
        rows = self._random_rows(x.float(), self.codebook_size)  # (K, C)
        self.codebook.copy_(rows)
        self.code_sum.copy_(rows)
        self.code_count.fill_(1.0)
        self.initted.fill_(True)

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, codes: torch.Tensor) -> None:
        """EMA of per-code sums and counts over the batch (x (N, C), codes (N,)), then dead-code reset."""
        onehot = F.one_hot(codes, self.codebook_size).float()  # (N, K)
        batch_sum = D.all_reduce_sum(onehot.t() @ x.float())  # (K, C)
        batch_count = D.all_reduce_sum(onehot.sum(0))  # (K,)
        self.code_sum.mul_(self.mu).add_(batch_sum, alpha=1 - self.mu)
        self.code_count.mul_(self.mu).add_(batch_count, alpha=1 - self.mu)
        dead = self.code_count < self.reset_threshold  # (K,)
        fresh = self._random_rows(x.float(), self.codebook_size)  # (K, C)
        self.code_sum.copy_(torch.where(dead[:, None], fresh, self.code_sum))
        self.code_count.copy_(torch.where(dead, torch.ones_like(self.code_count), self.code_count))
        self.codebook.copy_(self.code_sum / self.code_count[:, None])

    def code_stats(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(perplexity, fraction of codes used) of a set of codes (summed over ranks)."""
        counts = D.all_reduce_sum(torch.bincount(codes.flatten(), minlength=self.codebook_size).float())
        return perplexity_and_usage(counts)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        """x (N, C) valid encoder outputs -> quantised output; in training mode also updates the codebook."""
        if self.training and not bool(self.initted):
            self._init_codebook(x.detach())
        codes = self.nearest(x.detach())
        quantized = self.lookup(codes)  # (N, C), looked up before the update as in T2M-GPT
        if self.training:
            self._ema_update(x.detach(), codes)
        commit = F.mse_loss(x, quantized.detach())
        perplexity, usage = self.code_stats(codes)
        return QuantizerOutput(x + (quantized - x).detach(), codes, commit, perplexity, usage)


def perplexity_and_usage(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Code histogram (K,) -> (exp(entropy) of its distribution, fraction of codes with count > 0)."""
    probs = counts / counts.sum().clamp_min(1e-12)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
    return entropy.exp(), (counts > 0).float().mean()
