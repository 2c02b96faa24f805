"""Read a dataset in HumanML3D layout (HumanML3D, KIT-ML, or one built by `motiongpt data bandai|custom`).

Layout (see docs/ARCHITECTURE.md)::

    <root>/new_joints/<id>.npy       (T, J, 3) joint positions, metres, Y up
    <root>/new_joint_vecs/<id>.npy   (T, D) features, D = 263 (HumanML3D) or 251 (KIT-ML)
    <root>/texts/<id>.txt            one caption per line: `text#word/POS word/POS ...#start#end`
    <root>/Mean.npy, Std.npy         (D,) feature statistics
    <root>/{train,val,test,all}.txt  one id per line; mirrored motions have id `M<id>`

Usage::

    from motiongpt.data.layout import MotionDir
    d = MotionDir("data/bandai")
    for mid in d.ids("test"):
        feats = d.features(mid)          # (T, D) float32, cached after the first read
        caps = d.captions(mid)           # list[Caption]

Files are read lazily on first access and kept in memory (they are small); bad files raise `LayoutError`
naming the file and the problem.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from motiongpt.motion.constants import FPS  # caption start/end are seconds at this rate

if TYPE_CHECKING:  # pragma: no cover
    from motiongpt.motion.normalize import Normalizer

SPLITS = ("train", "val", "test")
JOINTS_DIR = "new_joints"
FEATURES_DIR = "new_joint_vecs"
TEXTS_DIR = "texts"
MIRROR_PREFIX = "M"
# feature dimension -> number of joints: D = 12 J - 1 (HumanML3D 263 <-> 22, KIT-ML 251 <-> 21)
DIM_TO_JOINTS = {263: 22, 251: 21}


class LayoutError(ValueError):
    """A dataset file is missing or malformed (the message names the file and the problem)."""


@dataclass(frozen=True)
class Caption:
    """One caption line: the sentence, its `word/POS` tokens and the time range it describes.

    `start`/`end` are seconds at 20 fps; both 0 means the whole motion (HumanML3D convention).
    """

    text: str
    tokens: tuple[str, ...]
    start: float = 0.0
    end: float = 0.0

    @property
    def whole(self) -> bool:
        """True when the caption describes the whole motion."""
        return self.start == 0.0 and self.end == 0.0

    def frame_range(self, num_frames: int) -> tuple[int, int]:
        """[first, last) frames described, clipped to a motion of `num_frames` frames."""
        if self.whole:
            return 0, num_frames
        first = min(int(self.start * FPS), num_frames)
        last = num_frames if self.end <= 0.0 else min(int(self.end * FPS), num_frames)
        return first, last

    def to_line(self) -> str:
        """The HumanML3D text line `text#tokens#start#end`."""
        return f"{self.text}#{' '.join(self.tokens)}#{self.start:.1f}#{self.end:.1f}"


def _parse_time(field: str, where: str) -> float:
    """A caption time in seconds; empty or NaN means 0 (whole motion), as HumanML3D treats it."""
    field = field.strip()
    if not field:
        return 0.0
    try:
        value = float(field)
    except ValueError:
        raise LayoutError(f"{where}: time field {field!r} is not a number") from None
    if math.isnan(value):
        return 0.0
    if value < 0 or math.isinf(value):
        raise LayoutError(f"{where}: time field {field!r} must be a finite number >= 0")
    return value


def parse_caption_line(line: str, where: str = "<caption>") -> Caption:
    """Parse `text#word/POS ...#start#end` (`where` names the file:line in errors)."""
    fields = line.rstrip("\r\n").split("#")
    if len(fields) != 4:
        raise LayoutError(f"{where}: expected 4 '#'-separated fields (text#tokens#start#end), got {len(fields)}")
    text, tokens, start, end = fields
    if not text.strip():
        raise LayoutError(f"{where}: empty caption text")
    token_list = tuple(tokens.split())
    for tok in token_list:
        if "/" not in tok:
            raise LayoutError(f"{where}: token {tok!r} is not of the form word/POS")
    first, last = _parse_time(start, where), _parse_time(end, where)
    if last and first > last:
        raise LayoutError(f"{where}: start {first} > end {last}")
    return Caption(text.strip(), token_list, first, last)


def read_text(path: str | os.PathLike, what: str) -> str:
    """The whole text of a UTF-8 file, line ends untouched (`what` names the kind of file in errors).

    Raises LayoutError `<path>: <what> not found` when it is not a file and `<path>: not UTF-8 text (byte N)`
    when it does not decode (N counts from the start of the file)."""
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: {what} not found")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise LayoutError(f"{path}: not UTF-8 text (byte {err.start})") from None


def read_captions(path: str | os.PathLike) -> list[Caption]:
    """All caption lines of one texts/<id>.txt file (blank lines are skipped; a file without any is an error)."""
    lines = read_text(path, "caption file").splitlines()
    captions = [parse_caption_line(line, f"{path}:{n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not captions:
        raise LayoutError(f"{path}: no caption lines")
    return captions


def read_id_list(path: str | os.PathLike) -> list[str]:
    """Ids of a split file (one per line, blanks ignored)."""
    return [line.strip() for line in read_text(path, "split file").splitlines() if line.strip()]


def original_id(motion_id: str) -> str:
    """The id of the un-mirrored twin (`M012` -> `012`; an id that is not mirrored is returned as is)."""
    return motion_id[len(MIRROR_PREFIX):] if is_mirrored(motion_id) else motion_id


def is_mirrored(motion_id: str) -> bool:
    """True for mirrored ids (`M<id>`)."""
    return motion_id.startswith(MIRROR_PREFIX)


def mirrored_id(motion_id: str) -> str:
    """The mirror twin's id of an original motion."""
    return MIRROR_PREFIX + motion_id


def load_array(path: Path, what: str) -> np.ndarray:
    """np.load with an error naming the file when it is missing or unreadable."""
    try:
        return np.load(path)
    except FileNotFoundError:
        raise LayoutError(f"{path}: {what} file not found") from None
    except (ValueError, OSError, EOFError) as err:
        raise LayoutError(f"{path}: cannot read {what} ({err})") from None


def _check_finite(array: np.ndarray, path: Path) -> None:
    """One-line error naming `path` and the first frame that holds NaN or infinite values."""
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise LayoutError(f"{path}: dtype {array.dtype} is not a real number type")
    bad = ~np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1)
    if bad.any():
        raise LayoutError(f"{path}: NaN or infinite values (first at frame {int(bad.argmax())})")


class MotionDir:
    """Lazy, caching reader of one dataset directory in HumanML3D layout."""

    def __init__(self, root: str | os.PathLike, cache: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise LayoutError(f"{self.root}: dataset directory not found")
        if not (self.root / FEATURES_DIR).is_dir():
            raise LayoutError(f"{self.root}: no {FEATURES_DIR}/ folder (not a HumanML3D-layout directory)")
        self.cache = cache
        self._features: dict[str, np.ndarray] = {}
        self._captions: dict[str, list[Caption]] = {}
        self._ids: dict[str, list[str]] = {}
        self._normalizer: Normalizer | None = None

    def __repr__(self) -> str:
        return f"MotionDir({str(self.root)!r})"

    def ids(self, split: str) -> list[str]:
        """Ids listed in `<split>.txt`; 'all' falls back to train+val+test when all.txt is absent."""
        if split not in self._ids:
            path = self.root / f"{split}.txt"
            if split == "all" and not path.is_file():
                self._ids[split] = [i for s in SPLITS if (self.root / f"{s}.txt").is_file() for i in self.ids(s)]
            else:
                self._ids[split] = read_id_list(path)
        return list(self._ids[split])

    def has_motion(self, motion_id: str) -> bool:
        """True when the feature file of `motion_id` exists."""
        return (self.root / FEATURES_DIR / f"{motion_id}.npy").is_file()

    def features(self, motion_id: str) -> np.ndarray:
        """(T, D) raw features of one motion, float32."""
        feats = self._features.get(motion_id)
        if feats is None:
            path = self.root / FEATURES_DIR / f"{motion_id}.npy"
            feats = load_array(path, "features")
            if feats.ndim != 2 or feats.shape[1] not in DIM_TO_JOINTS:
                raise LayoutError(f"{path}: features shape {feats.shape}, expected (T, 263) or (T, 251)")
            if feats.shape[0] == 0:
                raise LayoutError(f"{path}: features have 0 frames")
            _check_finite(feats, path)
            feats = np.ascontiguousarray(feats, dtype=np.float32)
            if self.cache:
                self._features[motion_id] = feats
        return feats

    def joints(self, motion_id: str) -> np.ndarray:
        """(T, J, 3) joint positions of one motion, float32 (not cached: only rendering/eval need them)."""
        path = self.root / JOINTS_DIR / f"{motion_id}.npy"
        joints = load_array(path, "joints")
        if joints.ndim != 3 or joints.shape[2] != 3 or joints.shape[1] not in DIM_TO_JOINTS.values():
            raise LayoutError(f"{path}: joints shape {joints.shape}, expected (T, 22, 3) or (T, 21, 3)")
        _check_finite(joints, path)
        return joints.astype(np.float32, copy=False)

    def captions(self, motion_id: str) -> list[Caption]:
        """Captions of one motion (texts/<id>.txt), cached."""
        caps = self._captions.get(motion_id)
        if caps is None:
            caps = read_captions(self.root / TEXTS_DIR / f"{motion_id}.txt")
            if self.cache:
                self._captions[motion_id] = caps
        return list(caps)

    @property
    def mean(self) -> np.ndarray:
        """(D,) Mean.npy."""
        return self._stat("Mean.npy")

    @property
    def std(self) -> np.ndarray:
        """(D,) Std.npy."""
        return self._stat("Std.npy")

    def _stat(self, name: str) -> np.ndarray:
        path = self.root / name
        arr = load_array(path, "statistics")
        if arr.ndim != 1 or arr.shape[0] not in DIM_TO_JOINTS:
            raise LayoutError(f"{path}: shape {arr.shape}, expected (263,) or (251,)")
        if not np.all(np.isfinite(arr)):
            raise LayoutError(f"{path}: contains NaN or inf")
        return arr.astype(np.float32, copy=False)

    @property
    def normalizer(self) -> Normalizer:
        """The dataset's `Normalizer` built from Mean.npy / Std.npy (cached)."""
        if self._normalizer is None:
            from motiongpt.motion.normalize import Normalizer

            mean, std = self.mean, self.std
            if mean.shape != std.shape:
                raise LayoutError(f"{self.root}: Mean.npy {mean.shape} and Std.npy {std.shape} differ in shape")
            if np.any(std <= 0):
                raise LayoutError(f"{self.root / 'Std.npy'}: has {(std <= 0).sum()} entries <= 0")
            self._normalizer = Normalizer(mean, std)
        return self._normalizer
