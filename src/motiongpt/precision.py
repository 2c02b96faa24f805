"""Numeric precision: run-time detection of native bf16 on the CPU and the autocast context used by training
(`Trainer`, `trainer.precision`, default "auto"). Inference (`MotionLM.generate(precision=...)`, default "auto")
resolves the same way, but its lean loop casts the decoder's weights to bf16 once instead of autocasting
(`motiongpt.lm.decoding`: autocast re-casts fp32 weights at every call and measured slower at batch 1).

"auto" means bf16 autocast where the hardware computes bf16 natively (a CPU reporting AMX-BF16 or
AVX512-BF16, a CUDA device with bf16 support) and fp32 elsewhere; "bf16" / "fp32" force one::

    from motiongpt.precision import autocast_context, resolve_precision
    with autocast_context(device, "auto"):          # bf16 on this CPU if it has it, else a no-op
        loss = model(batch)
    resolve_precision("cpu", "auto")                # "bf16" or "fp32"
"""
from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path

import torch

PRECISIONS = ("auto", "bf16", "fp32")
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """Feature flags of the first CPU in `path` (empty where the file does not exist, e.g. macOS / Windows)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX-BF16 / AVX512-BF16 flag, or torch reporting AMX)."""
    return bool(BF16_CPU_FLAGS & cpu_flags()) or "AMX" in torch.backends.cpu.get_cpu_capability()


def device_supports_bf16(device: torch.device | str) -> bool:
    """Native bf16 on `device` (CPU: `cpu_supports_bf16`; CUDA: `torch.cuda.is_bf16_supported`)."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_bf16_supported()
    return kind == "cpu" and cpu_supports_bf16()


def resolve_precision(device: torch.device | str, precision: str = "auto") -> str:
    """"bf16" or "fp32" for a requested precision ("auto" | "bf16" | "fp32") on `device`."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: {precision!r} is not one of {list(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if device_supports_bf16(device) else "fp32"
    return precision


def autocast_context(device: torch.device | str, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 autocast on `device` when `precision` resolves to bf16, otherwise a no-op context."""
    if resolve_precision(device, precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
