"""Benchmark: BVH parse and forward-kinematics speed (frames/s) on a real Bandai and a real CMU file.

    python benchmarks/bench_bvh.py [--bandai FILE.bvh] [--cmu FILE.bvh] [--repeats 5] [--results PATH]

Without --bandai, one clip is extracted from the shared Bandai tar into a temporary folder. For each file
it times `read_bvh` (parse), `global_positions` (FK, all joints and End Sites), `bvh_to_smpl22` (retarget to
20 fps) and `write_bvh` (IK + writing), and measures the SMPL-22 write/read round-trip error. Prints a table
and writes benchmarks/results/bvh.json (atomically). Single-threaded (numpy on one core).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from motiongpt.io.bvh import read_bvh, write_bvh  # noqa: E402
from motiongpt.io.retarget import bvh_to_smpl22  # noqa: E402
from motiongpt.motion.skeleton import SMPL22  # noqa: E402
from motiongpt.paths import REPO_ROOT, shared_data  # noqa: E402
from motiongpt.utils import atomic_write_json  # noqa: E402

BANDAI_MEMBER = "dataset/Bandai-Namco-Research-Motiondataset-1/data/dataset-1_bye_feminine_001.bvh"


def _best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of `repeats` timed calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _extract_bandai(tar_path: Path, out_dir: Path) -> Path:
    """Extract one Bandai clip from the shared tar into out_dir."""
    with tarfile.open(tar_path, "r:xz") as tar:
        for member in tar:
            if member.name == BANDAI_MEMBER:
                target = out_dir / Path(member.name).name
                target.write_bytes(tar.extractfile(member).read())
                return target
    raise FileNotFoundError(f"{BANDAI_MEMBER} not in {tar_path}")


def bench_file(path: Path, repeats: int, scratch: Path) -> dict:
    """Timings and round-trip error for one BVH file."""
    motion = read_bvh(path)
    frames = motion.num_frames
    parse_s = _best_seconds(lambda: read_bvh(path), repeats)
    fk_s = _best_seconds(lambda: motion.global_positions(include_end_sites=True), repeats)
    retarget_s = _best_seconds(lambda: bvh_to_smpl22(motion), repeats)
    joints = bvh_to_smpl22(motion)
    out = scratch / f"{path.stem}_smpl22.bvh"
    write_s = _best_seconds(lambda: write_bvh(out, joints), repeats)
    written = read_bvh(out)
    back = written.global_positions()[:, [written.joint_names.index(n) for n in SMPL22.joint_names]] / 100.0
    return {
        "file": path.name,
        "joints": motion.num_joints,
        "end_sites": len(motion.end_site_parents),
        "frames": frames,
        "fps": round(motion.fps, 3),
        "parse_frames_per_s": frames / parse_s,
        "fk_frames_per_s": frames / fk_s,
        "parse_fk_frames_per_s": frames / (parse_s + fk_s),
        "retarget_frames_per_s": frames / retarget_s,
        "write_frames_per_s": len(joints) / write_s,
        "roundtrip_max_error_mm": float(np.linalg.norm(back - joints, axis=-1).max() * 1000.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bandai", type=Path, default=None, help="a Bandai .bvh (default: one from the shared tar)")
    parser.add_argument("--cmu", type=Path, default=shared_data("cmu", "131_01.bvh"), help="a CMU .bvh")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "bvh.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        bandai = args.bandai
        if bandai is None:
            tar_path = shared_data("bandai", "bandai-namco-motion.tar.xz")
            if not tar_path.is_file():
                print(f"error: {tar_path}: Bandai archive not found (pass --bandai FILE.bvh)", file=sys.stderr)
                return 1
            bandai = _extract_bandai(tar_path, scratch)
        rows = []
        for name, path in (("bandai", bandai), ("cmu", args.cmu)):
            if not path.is_file():
                print(f"error: {path}: not found", file=sys.stderr)
                return 1
            rows.append({"source": name, **bench_file(path, args.repeats, scratch)})
    print(f"{'source':8} {'frames':>7} {'parse f/s':>11} {'FK f/s':>11} {'parse+FK f/s':>13} {'retarget f/s':>13} "
          f"{'write f/s':>10} {'round trip mm':>14}")
    for r in rows:
        print(f"{r['source']:8} {r['frames']:7d} {r['parse_frames_per_s']:11.0f} {r['fk_frames_per_s']:11.0f} "
              f"{r['parse_fk_frames_per_s']:13.0f} {r['retarget_frames_per_s']:13.0f} {r['write_frames_per_s']:10.0f} "
              f"{r['roundtrip_max_error_mm']:14.4f}")
    record = {"benchmark": "bvh", "repeats": args.repeats, "machine": platform.platform(),
              "processor": platform.processor() or platform.machine(), "results": rows}
    atomic_write_json(args.results, record)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
