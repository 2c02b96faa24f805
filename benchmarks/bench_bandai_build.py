"""Benchmark: wall time of the full Bandai build (`motiongpt data bandai`), target < 10 min on 2 cores.

    python benchmarks/bench_bandai_build.py [--src TAR] [--out data/bandai] [--workers 2] [--limit N]

Builds the dataset (replacing `--out`), prints the wall time and the manifest counts, and writes them to
benchmarks/results/bandai_build.json (atomically).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from motiongpt.data.bandai import build_bandai
from motiongpt.paths import REPO_ROOT, data_dir, shared_data
from motiongpt.utils import atomic_write_json

TARGET_SECONDS = 600.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=shared_data("bandai", "bandai-namco-motion.tar.xz"))
    parser.add_argument("--out", type=Path, default=data_dir() / "bandai")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first N takes (not a full benchmark)")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "bandai_build.json")
    args = parser.parse_args(argv)
    if not args.src.is_file():
        print(f"error: {args.src}: Bandai archive not found", file=sys.stderr)
        return 1
    start = time.perf_counter()
    result = build_bandai(args.src, args.out, workers=args.workers, limit=args.limit, force=True)
    seconds = time.perf_counter() - start
    manifest = json.loads((result.out / "manifest.json").read_text())
    record = {
        "benchmark": "bandai_build",
        "wall_seconds": round(seconds, 1),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds < TARGET_SECONDS,
        "workers": args.workers,
        "limit": args.limit,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "counts": manifest["counts"],
        "label_counts": manifest["label_counts"],
        "tools": manifest["build"]["tools"],
    }
    atomic_write_json(args.results, record)
    print(json.dumps(record, indent=2))
    print(f"bandai build: {seconds:.1f} s wall ({'within' if seconds < TARGET_SECONDS else 'OVER'} the "
          f"{TARGET_SECONDS:.0f} s target) -> {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
