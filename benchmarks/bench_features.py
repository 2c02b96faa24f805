"""Benchmark HumanML3D feature extraction and its inverse (frames per second, CPU, one thread).

Runs `joints_to_features` on a real HumanML3D sample tiled to a long clip, and `features_to_joints` on a
torch batch of such clips; prints the figures and writes benchmarks/results/features.json atomically.

Usage: python benchmarks/bench_features.py [--sample 007005] [--repeat 10] [--batch 32] [--runs 3]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from motiongpt.motion.features import features_to_joints, joints_to_features
from motiongpt.paths import shared_data
from motiongpt.utils import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"


def best_seconds(fn: Callable[[], object], runs: int) -> float:
    """Fastest wall time of `runs` calls of fn (after one warm-up call)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def tiled_clip(sample: str, repeat: int) -> np.ndarray:
    """A long clip (T * repeat, 22, 3): the sample repeated, each copy continuing from the last root xz."""
    path = shared_data("humanml3d", "samples", "new_joints", f"{sample}.npy")
    if not path.is_file():
        raise SystemExit(f"sample not found: {path} (set MOTIONGPT_SHARED to the shared folder)")
    joints = np.load(path).astype(np.float64)  # (T, 22, 3)
    shift = (joints[-1, 0] - joints[0, 0]) * np.array([1.0, 0.0, 1.0])
    return np.concatenate([joints + k * shift for k in range(repeat)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", default="007005", help="HumanML3D sample id in shared/data/humanml3d/samples")
    parser.add_argument("--repeat", type=int, default=10, help="times the sample is tiled into one clip")
    parser.add_argument("--batch", type=int, default=32, help="clips per features_to_joints batch")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (the best is kept)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    joints = tiled_clip(args.sample, args.repeat)
    features = joints_to_features(joints)  # (T-1, 263)
    batch = torch.from_numpy(np.stack([features] * args.batch))  # (B, T-1, 263)
    forward_s = best_seconds(lambda: joints_to_features(joints), args.runs)
    inverse_s = best_seconds(lambda: features_to_joints(batch), args.runs)
    result = {
        "sample": args.sample,
        "frames_per_clip": int(len(joints)),
        "batch": args.batch,
        "joints_to_features_frames_per_s": round(len(joints) / forward_s, 1),
        "features_to_joints_frames_per_s": round(batch.shape[0] * batch.shape[1] / inverse_s, 1),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    print(f"joints_to_features: {result['joints_to_features_frames_per_s']:,.0f} frames/s "
          f"({len(joints)}-frame clip, best of {args.runs})")
    print(f"features_to_joints: {result['features_to_joints_frames_per_s']:,.0f} frames/s "
          f"(torch batch {tuple(batch.shape)}, best of {args.runs})")
    atomic_write_json(RESULTS, result)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
