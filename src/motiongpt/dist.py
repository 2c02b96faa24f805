"""torch.distributed helpers: init from torchrun's environment, rank queries, reductions.

A process started by `torchrun` (WORLD_SIZE > 1 in the environment) joins the process group with
`init_distributed()`: gloo on CPU, nccl on CUDA (each rank uses GPU LOCAL_RANK). A plain `python` process
is a world of one and every helper below degrades to a no-op, so the same training code runs both ways.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from motiongpt.utils import pick_device


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job and the device it computes on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, logs and exports."""
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (idempotent); pick the device once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, 0, pick_device(device))
    local_rank = int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = pick_device(f"cuda:{local_rank}")
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, chosen)


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of ranks (1 outside torchrun)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank (0 outside torchrun)."""
    return dist.get_rank() if is_distributed() else 0


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum `tensor` over ranks in place (no-op in a single process); returns it."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Average `tensor` over ranks in place (no-op in a single process); returns it."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def broadcast(tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Copy rank `src`'s `tensor` to every rank in place (no-op in a single process); returns it."""
    if is_distributed():
        dist.broadcast(tensor, src=src)
    return tensor


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if is_distributed():
        dist.barrier()


def shutdown() -> None:
    """Leave the process group if this process joined one, after every rank got here (no-op otherwise)."""
    if dist.is_available() and dist.is_initialized():
        barrier()
        dist.destroy_process_group()
