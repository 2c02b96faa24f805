"""Your own mocap in HumanML3D layout: `motiongpt data custom --bvh-dir DIR --captions CSV --out DIR`.

The CSV has a header with the columns `file,caption` and optionally `start,end` (seconds; empty or 0/0 means
the whole file). Several rows may name the same file: rows with the same (file, start, end) are captions of
one motion, different ranges become different motions. `file` is a path relative to `--bvh-dir` (with or
without `.bvh`). Every range goes through the generic builder (`motiongpt.data.build.build_layout`): retarget
to SMPL-22 at 20 fps (CMU or Bandai skeletons), evenly sized segments of at most 196 feature frames (ranges
shorter than 40 are dropped and counted), mirrors `M<id>` with left/right swapped in the captions, a
deterministic ~80/5/15 split by file, Mean/Std on train, manifest.json.

Example CSV::

    file,caption,start,end
    jump01.bvh,a person jumps forward with both feet,,
    jump01.bvh,someone hops ahead,,
    wave.bvh,a man waves his left hand,1.5,6.0
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from motiongpt.data.build import BuildResult, ClipJob, MotionRecord, build_layout
from motiongpt.data.command import data_parser, run_reported
from motiongpt.data.layout import read_text
from motiongpt.io.limits import add_limit_args, applied_limits


@dataclass(frozen=True)
class CaptionRow:
    """One CSV row: a caption of a time range (seconds; (0, 0) = whole file) of a BVH file."""

    file: str
    caption: str
    start: float
    end: float
    where: str = ""  # "<csv>:<line>", for error messages


def _seconds(value: str | None, where: str, column: str) -> float:
    """A start/end cell: empty -> 0."""
    if value is None or not value.strip():
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{where}: column {column!r} is {value!r}, not a number of seconds") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"{where}: column {column!r} must be >= 0, got {value!r}")
    return seconds


def read_caption_csv(path: str | os.PathLike) -> list[CaptionRow]:
    """Rows of the captions CSV, validated: errors are ValueErrors naming the file, line and column."""
    text = read_text(path, "captions CSV")
    try:
        return _read_rows(Path(path), text)
    except csv.Error as err:
        raise ValueError(f"{path}: malformed CSV ({err})") from None


def _read_rows(path: Path, text: str) -> list[CaptionRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = {"file", "caption"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; header is {reader.fieldnames}")
    rows = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        file, caption = (row.get("file") or "").strip(), (row.get("caption") or "").strip()
        if not file or not caption:
            raise ValueError(f"{where}: empty 'file' or 'caption'")
        if "#" in caption:
            raise ValueError(f"{where}: caption contains '#', which the HumanML3D text format reserves")
        start, end = _seconds(row.get("start"), where, "start"), _seconds(row.get("end"), where, "end")
        if end and start >= end:
            raise ValueError(f"{where}: start {start} >= end {end}")
        rows.append(CaptionRow(file, caption, start, end, where))
    if not rows:
        raise ValueError(f"{path}: no caption rows")
    return rows


def take_key(file: str) -> str:
    """A file-name-safe unique take name for a CSV `file` entry."""
    stem = file[:-4] if file.lower().endswith(".bvh") else file
    return re.sub(r"[^A-Za-z0-9._-]+", "__", stem)


def plan_jobs(bvh_dir: Path, rows: list[CaptionRow]) -> tuple[list[ClipJob], dict[tuple[str, int], list[str]]]:
    """One job per file (its distinct ranges) and the captions of each (take, range index)."""
    ranges: dict[str, dict[tuple[float, float], list[str]]] = defaultdict(dict)
    paths: dict[str, Path] = {}
    for row in rows:
        path = bvh_dir / (row.file if row.file.lower().endswith(".bvh") else row.file + ".bvh")
        if not path.resolve().is_relative_to(bvh_dir.resolve()):
            raise ValueError(f"{row.where}: column 'file' names {row.file!r}, which is outside --bvh-dir {bvh_dir}")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: BVH file named in the captions CSV not found")
        key = take_key(row.file)
        paths[key] = path
        ranges[key].setdefault((row.start, row.end), []).append(row.caption)
    jobs, captions = [], {}
    for key in sorted(ranges):
        spans = tuple(ranges[key])
        jobs.append(ClipJob(key, str(paths[key]), bvh_path=str(paths[key]), ranges=spans))
        for r, span in enumerate(spans):
            captions[(key, r)] = ranges[key][span]
    return jobs, captions


def refuse_mostly_failed(records: list[MotionRecord], jobs: list[ClipJob]) -> None:
    """ValueError when fewer than half of the files gave a motion (the build would be mostly missing)."""
    used = len({r.clip for r in records})
    if 2 * used < len(jobs):
        raise ValueError(f"only {used} of {len(jobs)} BVH files gave a motion (see the skipped files above); "
                         "nothing written")


def build_custom(bvh_dir: str | os.PathLike, captions_csv: str | os.PathLike, out_dir: str | os.PathLike,
                 workers: int = 2, force: bool = False) -> BuildResult:
    """Build a HumanML3D-layout dataset from a BVH folder and a captions CSV."""
    bvh_dir = Path(bvh_dir)
    if not bvh_dir.is_dir():
        raise FileNotFoundError(f"{bvh_dir}: BVH folder not found")
    rows = read_caption_csv(captions_csv)
    jobs, captions = plan_jobs(bvh_dir, rows)

    def captions_for(rec: MotionRecord) -> list[str]:
        return captions[(rec.clip, rec.range_index)]

    def extra(records: list[MotionRecord]) -> dict:
        refuse_mostly_failed(records, jobs)  # raising here, before the swap, leaves no output at all
        return {
            "source": {"bvh_dir": str(bvh_dir.resolve()), "captions_csv": str(Path(captions_csv).resolve()),
                       "rows": len(rows), "files": len(jobs)},
            "split_policy": "by file, ~15% test (>=1 when >= 2 files), ~5% val, ordered by sha256 of the name",
        }

    return build_layout(jobs, Path(out_dir), captions_for, lambda key: "custom", extra, workers=workers, force=force)


def main(argv: list[str] | None = None) -> int:
    """`motiongpt data custom`: build, print counts; exit 2 on errors (each skipped file is logged once)."""
    parser = data_parser("custom", __doc__, epilog_from_doc=True)
    parser.add_argument("--bvh-dir", type=Path, required=True, help="folder with the BVH files")
    parser.add_argument("--captions", type=Path, required=True, help="CSV with columns file,caption[,start,end]")
    parser.add_argument("--out", type=Path, required=True, help="output directory (HumanML3D layout)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty output directory")
    add_limit_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def build() -> BuildResult:
        with applied_limits(args):
            return build_custom(args.bvh_dir, args.captions, args.out, workers=args.workers, force=args.force)

    return run_reported("custom", build, _print_result, errors=(OSError, ValueError), failure_code=2)


def _print_result(result: BuildResult) -> None:
    """Counts (JSON), how many files were skipped (stderr), where the dataset is."""
    print(json.dumps(result.counts, indent=2))
    if result.errors:
        print(f"{len(result.errors)} file(s) skipped (listed above)", file=sys.stderr)
    print(f"wrote {result.out}")


if __name__ == "__main__":
    sys.exit(main())
