"""What the command line and the demo share: loading the model, calling it, saving its motions.

    from motiongpt.service import load_pipeline, call_pipeline, save_motion_outputs, seconds_to_frames
    pipeline = load_pipeline(None)                                   # the default model (CommandError if absent)
    (result,) = call_pipeline(pipeline.text_to_motion, ["a person jumps"], lengths=[seconds_to_frames(3)])
    saved = save_motion_outputs(result, Path("out"), "jump", "a person jumps", glb=True)
    saved.files["bvh"], saved.files["glb"]

Both front ends (`motiongpt.commands`, `motiongpt.demo.app`) sit above this module; it imports neither.
Outputs per motion: `<stem>.mp4`, `.bvh`, `_joints.npy`, `_features.npy`, `.json`, `.txt`, and with `glb=True`
an animated `.glb` (formats: docs/FORMATS.md).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from motiongpt.io.export import save_bvh, save_features_npy, save_joints_npy, save_motion_json
from motiongpt.motion.constants import FPS
from motiongpt.paths import default_model_dir
from motiongpt.utils import atomic_write_text

__all__ = [
    "CommandError", "MotionResultLike", "SavedMotion", "seconds_to_frames", "load_pipeline", "call_pipeline",
    "save_motion_outputs",
]


class CommandError(Exception):
    """A user error reported as one line and exit code 2 (bad path, bad file, missing model)."""


class MotionResultLike(Protocol):
    """What the front ends read from `motiongpt.lm.pipeline.MotionResult`."""

    features: np.ndarray | None  # (T, 263) raw
    joints: np.ndarray | None  # (T, 22, 3) metres
    text: str | None
    ok: bool
    error: str | None


@dataclass(frozen=True)
class SavedMotion:
    """Paths written for one motion (video is None with --no-video)."""

    stem: str
    files: dict[str, Path]

    def lines(self) -> list[str]:
        """Human-readable 'kind: path' lines."""
        return [f"  {kind:<9} {path}" for kind, path in self.files.items()]


def seconds_to_frames(seconds: float) -> int:
    """Seconds -> frames at 20 fps (at least 1)."""
    return max(1, round(seconds * FPS))


def load_pipeline(model_dir: Path | None) -> Any:
    """`Pipeline.from_pretrained(model_dir or the default)`, with a clear error when the model is missing."""
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    if not model_dir.is_dir():
        raise CommandError(
            f"no model at {model_dir}: pass --model DIR (a folder written by `motiongpt train lm`), set "
            "MOTIONGPT_MODEL, or train one (motiongpt train vq, then motiongpt train lm; see README)"
        )
    from motiongpt.lm.pipeline import Pipeline

    print(f"loading model from {model_dir} ...", file=sys.stderr)
    try:
        return Pipeline.from_pretrained(model_dir)
    except (FileNotFoundError, ValueError) as e:
        raise CommandError(f"cannot load the model from {model_dir}: {e}") from None


def call_pipeline(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a pipeline method; its input errors (ValueError naming the item) become CommandError."""
    try:
        return method(*args, **kwargs)
    except ValueError as e:
        raise CommandError(str(e)) from None


def save_motion_outputs(
    result: MotionResultLike, out_dir: Path, stem: str, caption: str | None, video: bool = True, glb: bool = False
) -> SavedMotion:
    """Write video, BVH, joints/features .npy, JSON, caption text (and GLB) for one result; returns the paths."""
    from motiongpt.render.video import render_video

    if result.joints is None:
        raise CommandError(f"{stem}: the model returned no joints")
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if video:
        files["video"] = render_video([result.joints], out_dir / f"{stem}.mp4", captions=[caption], fps=FPS).path
    files["bvh"] = save_bvh(out_dir / f"{stem}.bvh", result.joints, fps=FPS)
    if glb:
        from motiongpt.io.gltf import write_glb

        files["glb"] = write_glb(out_dir / f"{stem}.glb", result.joints, fps=FPS, name=stem)
    files["joints"] = save_joints_npy(out_dir / f"{stem}_joints.npy", result.joints)
    if result.features is not None:
        files["features"] = save_features_npy(out_dir / f"{stem}_features.npy", result.features)
    files["json"] = save_motion_json(out_dir / f"{stem}.json", result.joints, fps=FPS, caption=caption)
    if caption:
        atomic_write_text(out_dir / f"{stem}.txt", caption + "\n")
        files["caption"] = out_dir / f"{stem}.txt"
    return SavedMotion(stem, files)
