"""Build the Bandai-Namco Research Motion Dataset in HumanML3D layout: `motiongpt data bandai`.

    motiongpt data bandai --src ../shared/data/bandai/bandai-namco-motion.tar.xz --out data/bandai [--workers 2]

The archive is streamed once (`tarfile` mode 'r|xz', nothing extracted to disk) and every BVH take goes through
the generic builder (`motiongpt.data.build.build_layout`): retargeted to SMPL-22 joints at 20 fps, cut into
evenly sized segments of at most 196 feature frames (a take shorter than 41 joint frames is dropped and
counted), mirrored, featurised exactly as HumanML3D stores motions. Captions are composed from the labels
(`captions.compose_captions`, seeded by the motion id; the mirror gets the left/right-swapped text). Labels
come from the file name and are cross-checked against the JSON beside each take and `cfg/*_label.txt`.

Split (`assign_splits`): by take, so the segments of one take and their mirrors never cross splits;
stratified per (set, content, style) group for set 2 and per (set, content) for set 1: in every group of n
takes, ordered by a hash of the take name, round(0.15 n) (at least 1 when n >= 2) go to test, round(0.05 n)
to val, the rest to train (~80/5/15 overall). A content with a single take (set 1: respond, kick,
dance-short) stays in train, so it is learnt rather than only tested. Mean.npy/Std.npy are fitted
(`Normalizer.fit`) on the train split, originals and mirrors.

Output is built in a temporary sibling of `<out>` and swapped in at the end; an existing non-empty `<out>`
needs `--force`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from motiongpt.data.build import BuildResult, ClipJob, MotionRecord, build_layout
from motiongpt.data.captions import compose_captions

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
