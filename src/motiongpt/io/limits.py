"""Size limits every motion loader checks before it resamples or allocates (hostile or broken files).

    from motiongpt.io.limits import current_limits
    limits = current_limits()                  # defaults, or the MOTIONGPT_MAX_* environment variables
    limits.check_rate(fps, "clip.json: field 'fps'")
    limits.check_length(frames, fps, "clip.bvh")
    limits.check_file_size(Path("clip.bvh"))

A 6 KB BVH with `Frame Time: 100000` or a JSON with `"fps": 1e-6` would otherwise ask for many GiB once
resampled to 20 fps. The defaults (10 minutes, 72,000 source frames = 10 minutes at 120 fps, 64 MB files,
1-1000 frames/s) keep every loader well under 2 GB. Commands raise them with `--max-seconds`,
`--max-frames` and `--max-file-mb` (`add_limit_args` / `applied_limits`), which set the environment
variables so that worker processes (data builders) see the same limits.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
from dataclasses import dataclass, fields, replace
from numbers import Real
from pathlib import Path
from typing import Any, Iterator

from motiongpt.argtypes import positive, positive_number

ENV_PREFIX = "MOTIONGPT_"
JOINTS_AT_MAX_FRAMES = 32  # a file at max_frames may have this many joints (memory scales with frames x joints)


class LimitError(ValueError):
    """A motion file beyond the limits or with a nonsense frame rate; the message names file and field."""


@dataclass(frozen=True)
class MotionLimits:
    """What a loader accepts: duration, frames at the file's own rate, frame rate and file size."""

    max_seconds: float = 600.0
    max_frames: int = 72_000
    min_fps: float = 1.0
    max_fps: float = 1000.0
    max_file_mb: float = 64.0

    def check_rate(self, fps: Any, where: str) -> float:
        """A frame rate: a real number (not bool, not a string), finite, in [min_fps, max_fps]."""
        if isinstance(fps, bool) or not isinstance(fps, Real):
            raise LimitError(f"{where}: frame rate must be a number of frames per second, got {fps!r}")
        if not math.isfinite(fps) or not self.min_fps <= fps <= self.max_fps:
            raise LimitError(f"{where}: frame rate {fps!r} is outside [{self.min_fps:g}, {self.max_fps:g}] frames/s")
        return float(fps)

    def check_length(self, frames: int, fps: float, where: str) -> None:
        """1 <= frames <= max_frames and frames / fps <= max_seconds."""
        if frames < 1:
            raise LimitError(f"{where}: no frames")
        if frames > self.max_frames:
            raise LimitError(f"{where}: {frames} frames is more than the limit of {self.max_frames} "
                             "(raise it with --max-frames)")
        if frames / fps > self.max_seconds:
            raise LimitError(f"{where}: {frames} frames at {fps:g} frames/s last {frames / fps:.0f} s, more than "
                             f"the limit of {self.max_seconds:g} s (raise it with --max-seconds)")

    def check_joint_frames(self, frames: int, joints: int, where: str) -> None:
        """frames x joints <= max_frames x JOINTS_AT_MAX_FRAMES (what forward kinematics allocates)."""
        if frames * joints > self.max_frames * JOINTS_AT_MAX_FRAMES:
            raise LimitError(f"{where}: {frames} frames of {joints} joints is more than the limit of "
                             f"{self.max_frames * JOINTS_AT_MAX_FRAMES} joint-frames (raise it with --max-frames)")

    def check_file_size(self, path: Path) -> None:
        """The file is at most max_file_mb megabytes."""
        size = path.stat().st_size
        if size > self.max_file_mb * 1e6:
            raise LimitError(f"{path}: file is {size / 1e6:.0f} MB, more than the limit of {self.max_file_mb:g} MB "
                             "(raise it with --max-file-mb)")


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def current_limits() -> MotionLimits:
    """The defaults, overridden by MOTIONGPT_MAX_SECONDS / _MAX_FRAMES / _MIN_FPS / _MAX_FPS / _MAX_FILE_MB
    (each a positive finite number, whole for frame counts; min_fps <= max_fps)."""
    limits = MotionLimits()
    for f in fields(MotionLimits):
        value = os.environ.get(_env_name(f.name))
        if value:
            try:
                limits = replace(limits, **{f.name: positive_number(type(getattr(limits, f.name)), value)})
            except ValueError as err:
                raise LimitError(f"environment variable {_env_name(f.name)}: {err}") from None
    if limits.min_fps > limits.max_fps:
        raise LimitError(f"environment variables {_env_name('min_fps')} / {_env_name('max_fps')}: minimum frame "
                         f"rate {limits.min_fps:g} is above the maximum {limits.max_fps:g}")
    return limits


def add_limit_args(parser: argparse.ArgumentParser) -> None:
    """--max-seconds, --max-frames, --max-file-mb: raise the limits for a trusted long file."""
    d = MotionLimits()
    group = parser.add_argument_group("input limits")
    group.add_argument("--max-seconds", type=positive(float), default=None, metavar="S",
                       help=f"refuse motion files longer than S seconds (default: {d.max_seconds:g})")
    group.add_argument("--max-frames", type=positive(int), default=None, metavar="N",
                       help=f"refuse motion files of more than N frames at their own rate (default: {d.max_frames})")
    group.add_argument("--max-file-mb", type=positive(float), default=None, metavar="MB",
                       help=f"refuse motion files larger than MB megabytes (default: {d.max_file_mb:g})")


_ARG_NAMES = ("max_seconds", "max_frames", "max_file_mb")


@contextlib.contextmanager
def applied_limits(args: argparse.Namespace) -> Iterator[MotionLimits]:
    """Put the limits given on the command line in force (also for worker processes) while the block runs."""
    saved = {name: os.environ.get(_env_name(name)) for name in _ARG_NAMES}
    for name in _ARG_NAMES:
        if getattr(args, name, None) is not None:
            os.environ[_env_name(name)] = str(getattr(args, name))
    try:
        yield current_limits()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(_env_name(name), None)
            else:
                os.environ[_env_name(name)] = value
