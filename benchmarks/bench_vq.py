"""Motion tokenizer benchmark: training throughput, encode+decode latency, reconstruction table.

Prints and writes `benchmarks/results/vq.json` (atomically):
- training throughput in windows/s (forward + backward + AdamW on 64-frame windows) of the given config;
- encode + decode latency of one 196-frame motion (median of repeats);
- with `--tokenizer` and `--data`: the reconstruction table (MPJPE, PA-MPJPE, acceleration error in mm,
  codebook usage, perplexity) on `--split` (default test), plus the training budget read from the run's
  latest checkpoint (steps, batch size) when the tokenizer sits in `<run>/tokenizer/<best|last>`.

    python benchmarks/bench_vq.py --config configs/vq/cpu.yaml \\
        --tokenizer runs/vq_cpu/tokenizer/best --data data/bandai --split test
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from motiongpt.data.datasets import MotionBatch
from motiongpt.eval.recon import reconstruction_table
from motiongpt.tokenizer.vqvae import MotionTokenizer
from motiongpt.config import load_config
from motiongpt.train.engine import build_optimizer, latest_checkpoint
from motiongpt.train.vq import VQStageConfig
from motiongpt.utils import atomic_write_json, pick_device

RESULTS = Path(__file__).resolve().parent / "results" / "vq.json"


def training_throughput(cfg: VQStageConfig, steps: int, device: torch.device) -> float:
    """Windows per second of full training steps on random normalised windows (first step excluded)."""
    model = MotionTokenizer(cfg.model).to(device).train()
    optimizer = build_optimizer(model, cfg.trainer.optim)
    b, t = cfg.trainer.batch_size, cfg.data.window
    batch = MotionBatch(torch.randn(b, t, cfg.model.feature_dim, device=device),
                        torch.full((b,), t, device=device), ["bench"] * b)
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        loss, _ = model.training_loss(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return steps * b / (time.perf_counter() - start)


def codec_latency_ms(tokenizer: MotionTokenizer, frames: int = 196, repeats: int = 20) -> float:
    """Median wall time (ms) of encode + decode of one motion of `frames` frames."""
    feats = torch.randn(1, frames, tokenizer.cfg.feature_dim, device=tokenizer.mean.device)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        tokenizer.decode(tokenizer.encode(feats))
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times[1:])


def training_budget(tokenizer_dir: Path) -> dict | None:
    """Steps / batch / world size of the run that produced `<run>/tokenizer/<best|last>`, if found."""
    run = tokenizer_dir.resolve().parent.parent
    ckpt = latest_checkpoint(run)
    if ckpt is None:
        return None
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    return {"run_dir": str(run), "steps": state["step"], "batch_size": state["data"]["batch_size"],
            "world_size": state["world_size"], "windows_seen": state["step"] * state["data"]["batch_size"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=Path("configs/vq/cpu.yaml"))
    p.add_argument("--tokenizer", type=Path, help="trained tokenizer folder (save_pretrained)")
    p.add_argument("--data", type=Path, help="dataset root for the reconstruction table")
    p.add_argument("--split", default="test")
    p.add_argument("--steps", type=int, default=5, help="timed training steps")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cfg = load_config(VQStageConfig, args.config)
    result: dict = {"config": str(args.config), "device": str(device), "threads": args.threads,
                    "train_windows_per_s": training_throughput(cfg, args.steps, device)}
    if args.tokenizer is not None:
        tokenizer = MotionTokenizer.from_pretrained(args.tokenizer, device=device)
        result["tokenizer"] = str(args.tokenizer)
        result["training_budget"] = training_budget(args.tokenizer)
    else:
        torch.manual_seed(0)
        tokenizer = MotionTokenizer(cfg.model).to(device).eval()
    result["encode_decode_196_ms"] = codec_latency_ms(tokenizer)
    if args.tokenizer is not None and args.data is not None:
        result["reconstruction"] = reconstruction_table(tokenizer, args.data, args.split)
    print(json.dumps(result, indent=2))
    atomic_write_json(args.out, result)


if __name__ == "__main__":
    main()
