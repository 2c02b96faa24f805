"""Validate a HumanML3D / KIT-ML layout directory: `motiongpt data check DIR [--quick] [--max-per-kind N]`.

Checks (each finding is a `Problem` naming the file, the field and the shape or line):
- missing folders (new_joint_vecs/, new_joints/, texts/), statistics (Mean.npy, Std.npy) or split lists;
- ids listed in a split without a feature / joint / caption file; duplicate ids across splits;
- array shapes from the .npy headers (features (T, 263|251), joints (T, J, 3) with J matching D, the same
  frame count in new_joints and new_joint_vecs, Mean/Std (D,)), one feature dimension for the whole set;
- NaN / inf values (memory-mapped scan; `--quick` skips it), Std <= 0;
- empty caption files and malformed caption lines (with line numbers);
- mirrored ids `M<id>` whose original `<id>` is missing; motions listed in no split (warning).

Exit status 1 when any error was found, 0 otherwise (warnings do not fail). A 29k-motion HumanML3D copy takes
well under a minute (headers are read without loading arrays; the value scan uses np.load(mmap_mode='r')).

Library use: `problems = check_dir("data/bandai")`.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from motiongpt.data.layout import (
    DIM_TO_JOINTS, FEATURES_DIR, JOINTS_DIR, MIRROR_PREFIX, SPLITS, TEXTS_DIR, LayoutError, original_id,
    parse_caption_line,
)

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One finding: severity, kind (a short key), the file it concerns and a precise message."""

    severity: str
    kind: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.kind}]"


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of an .npy file from its header, without reading the data."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    return tuple(shape), dtype


def _stems(folder: Path, suffix: str) -> set[str]:
    """File stems with `suffix` in `folder` (empty when the folder is missing)."""
    if not folder.is_dir():
        return set()
    return {e.name[: -len(suffix)] for e in os.scandir(folder) if e.name.endswith(suffix) and not e.name.startswith(".")}


class _Checker:
    """Collects problems of one directory."""

    def __init__(self, root: Path, scan_values: bool) -> None:
        self.root = root
        self.scan_values = scan_values
        self.problems: list[Problem] = []
        self.dim: int | None = None

    def add(self, severity: str, kind: str, path: Path | str, message: str) -> None:
        rel = os.path.relpath(path, self.root) if isinstance(path, Path) else path
        self.problems.append(Problem(severity, kind, rel, message))

    def folders(self) -> dict[str, set[str]]:
        """Ids present in each data folder; missing folders are errors."""
        found = {}
        for name, suffix in ((FEATURES_DIR, ".npy"), (JOINTS_DIR, ".npy"), (TEXTS_DIR, ".txt")):
            if not (self.root / name).is_dir():
                self.add(ERROR, "missing-folder", self.root / name, "folder not found")
            found[name] = _stems(self.root / name, suffix)
        return found

    def splits(self) -> dict[str, list[str]]:
        """Ids of each split list; missing lists, duplicates within and across splits."""
        lists: dict[str, list[str]] = {}
        for split in SPLITS:
            path = self.root / f"{split}.txt"
            if not path.is_file():
                self.add(ERROR, "missing-split", path, "split list not found")
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                self.add(ERROR, "bad-split", path, f"not UTF-8 text (byte {err.start})")
                continue
            ids = [line.strip() for line in text.splitlines() if line.strip()]
            for mid, n in Counter(ids).items():
                if n > 1:
                    self.add(WARNING, "duplicate-in-split", path, f"id {mid} listed {n} times")
            lists[split] = ids
        owner: dict[str, str] = {}
        for split, ids in lists.items():
            for mid in dict.fromkeys(ids):
                if mid in owner:
                    self.add(ERROR, "duplicate-across-splits", self.root / f"{split}.txt",
                             f"id {mid} is also in {owner[mid]}.txt")
                else:
                    owner[mid] = split
        return lists

    def listed_files(self, lists: dict[str, list[str]], found: dict[str, set[str]]) -> None:
        """Every listed id has its three files; every motion is listed somewhere."""
        listed = {mid for ids in lists.values() for mid in ids}
        for split, ids in lists.items():
            for mid in dict.fromkeys(ids):
                for folder, suffix in ((FEATURES_DIR, ".npy"), (JOINTS_DIR, ".npy"), (TEXTS_DIR, ".txt")):
                    if (self.root / folder).is_dir() and mid not in found[folder]:
                        self.add(ERROR, "missing-file", self.root / folder / f"{mid}{suffix}",
                                 f"listed in {split}.txt but the file does not exist")
        if lists:
            for mid in sorted(found[FEATURES_DIR] - listed):
                self.add(WARNING, "unlisted", self.root / FEATURES_DIR / f"{mid}.npy", "motion is in no split list")

    def mirrors(self, found: dict[str, set[str]]) -> None:
        """Mirrored ids need their original."""
        for mid in sorted(found[FEATURES_DIR]):
            if mid.startswith(MIRROR_PREFIX) and original_id(mid) not in found[FEATURES_DIR]:
                self.add(ERROR, "mirror-without-original", self.root / FEATURES_DIR / f"{mid}.npy",
                         f"mirrored motion has no original {original_id(mid)}.npy")

    def header(self, path: Path) -> tuple[tuple[int, ...], np.dtype] | None:
        try:
            return npy_header(path)
        except (OSError, ValueError) as err:
            self.add(ERROR, "unreadable", path, f"not a readable .npy file ({err})")
            return None

    def values(self, path: Path, field: str) -> None:
        """NaN / inf scan of one array (memory-mapped)."""
        if not self.scan_values:
            return
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as err:
            self.add(ERROR, "unreadable", path, f"cannot read {field} ({err})")
            return
        bad = arr.size - int(np.isfinite(arr).sum())
        if bad:
            self.add(ERROR, "non-finite", path, f"{field} {tuple(arr.shape)} has {bad} NaN/inf values")

    def motion(self, mid: str, found: dict[str, set[str]]) -> None:
        """Shapes and values of one motion's features and joints."""
        fpath = self.root / FEATURES_DIR / f"{mid}.npy"
        head = self.header(fpath)
        if head is None:
            return
        shape = head[0]
        if len(shape) != 2 or shape[1] not in DIM_TO_JOINTS or shape[0] == 0:
            self.add(ERROR, "bad-shape", fpath, f"features shape {shape}, expected (T>0, 263) or (T>0, 251)")
            return
        if self.dim is None:
            self.dim = shape[1]
        elif shape[1] != self.dim:
            self.add(ERROR, "bad-shape", fpath, f"features dimension {shape[1]} differs from the set's {self.dim}")
        self.values(fpath, "features")
        if mid not in found[JOINTS_DIR]:
            return
        jpath = self.root / JOINTS_DIR / f"{mid}.npy"
        jhead = self.header(jpath)
        if jhead is None:
            return
        jshape = jhead[0]
        want_j = DIM_TO_JOINTS[shape[1]]
        if len(jshape) != 3 or jshape[1:] != (want_j, 3):
            self.add(ERROR, "bad-shape", jpath, f"joints shape {jshape}, expected (T, {want_j}, 3) for D={shape[1]}")
            return
        if jshape[0] != shape[0]:
            self.add(ERROR, "frame-mismatch", jpath,
                     f"joints have {jshape[0]} frames but new_joint_vecs/{mid}.npy has {shape[0]}")
        self.values(jpath, "joints")

    def captions(self, mid: str) -> None:
        """Caption file: not empty, every line well formed."""
        path = self.root / TEXTS_DIR / f"{mid}.txt"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            self.add(ERROR, "bad-caption", path, f"not UTF-8 text (byte {err.start})")
            return
        if not any(line.strip() for line in lines):
            self.add(ERROR, "empty-captions", path, "caption file is empty")
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                parse_caption_line(line, f"line {n}")
            except LayoutError as err:
                self.add(ERROR, "bad-caption", path, str(err))

    def statistics(self) -> None:
        """Mean.npy / Std.npy: present, (D,), finite, Std > 0."""
        for name in ("Mean.npy", "Std.npy"):
            path = self.root / name
            if not path.is_file():
                self.add(ERROR, "missing-file", path, "statistics file not found")
                continue
            try:
                arr = np.load(path)
            except (OSError, ValueError) as err:
                self.add(ERROR, "unreadable", path, f"not a readable .npy file ({err})")
                continue
            want = (self.dim,) if self.dim else "(263,) or (251,)"
            if arr.ndim != 1 or (self.dim and arr.shape[0] != self.dim) or arr.shape[0] not in DIM_TO_JOINTS:
                self.add(ERROR, "bad-shape", path, f"shape {arr.shape}, expected {want}")
                continue
            if not np.all(np.isfinite(arr)):
                self.add(ERROR, "non-finite", path, f"{(~np.isfinite(arr)).sum()} NaN/inf values")
            elif name == "Std.npy" and np.any(arr <= 0):
                self.add(ERROR, "bad-std", path, f"{int((arr <= 0).sum())} entries <= 0 (first at index {int(np.argmax(arr <= 0))})")

    def run(self) -> list[Problem]:
        if not self.root.is_dir():
            self.add(ERROR, "missing-folder", str(self.root), "dataset directory not found")
            return self.problems
        found = self.folders()
        lists = self.splits()
        self.listed_files(lists, found)
        self.mirrors(found)
        for mid in sorted(found[FEATURES_DIR]):
            self.motion(mid, found)
        for mid in sorted(found[TEXTS_DIR]):
            self.captions(mid)
        self.statistics()
        return self.problems


def check_dir(root: str | os.PathLike, scan_values: bool = True) -> list[Problem]:
    """All problems of a HumanML3D-layout directory (errors and warnings)."""
    return _Checker(Path(root), scan_values).run()


def _report(problems: list[Problem], max_per_kind: int) -> Iterator[str]:
    """Printable lines: at most `max_per_kind` per kind, then a summary."""
    shown: Counter[str] = Counter()
    for p in problems:
        shown[p.kind] += 1
        if shown[p.kind] <= max_per_kind:
            yield str(p)
    for kind, n in shown.items():
        if n > max_per_kind:
            yield f"... {n - max_per_kind} more [{kind}]"
    errors = sum(p.severity == ERROR for p in problems)
    yield f"{errors} error(s), {len(problems) - errors} warning(s)"


def main(argv: list[str] | None = None) -> int:
    """`motiongpt data check DIR`: print problems, exit 1 on errors."""
    parser = argparse.ArgumentParser(prog="motiongpt data check", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="dataset directory (HumanML3D layout)")
    parser.add_argument("--quick", action="store_true", help="skip the NaN/inf scan (headers and captions only)")
    parser.add_argument("--max-per-kind", type=int, default=20, metavar="N", help="print at most N problems per kind")
    args = parser.parse_args(argv)
    problems = check_dir(args.root, scan_values=not args.quick)
    for line in _report(problems, args.max_per_kind):
        print(line)
    return 1 if any(p.severity == ERROR for p in problems) else 0


if __name__ == "__main__":
    sys.exit(main())
