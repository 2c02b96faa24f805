"""The user-facing commands: generate, caption, predict, inbetween, render (`motiongpt COMMAND --help`).

    motiongpt generate "a person waves with the right hand" --seconds 4 --out out/
    motiongpt caption clip.bvh
    motiongpt predict clip.bvh --seconds 3 --out out/
    motiongpt inbetween start.npy end.npy --seconds 2 --out out/
    motiongpt render clip.bvh other_joints.npy --out compare.mp4 --caption "real" --caption "generated"

Generating commands write, per motion, `<stem>.mp4` (skeleton video), `<stem>.bvh`, `<stem>_joints.npy`
(T, 22, 3), `<stem>_features.npy` (T, 263), `<stem>.json` and `<stem>.txt` (the caption), then print the paths.
File formats: docs/FORMATS.md. Bad paths and bad files end with exit code 2 and a one-line message.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from motiongpt.io.export import (
    FPS,
    MotionFileError,
    load_motion,
    save_bvh,
    save_features_npy,
    save_joints_npy,
    save_motion_json,
)
from motiongpt.paths import default_model_dir
from motiongpt.utils import atomic_write_text

COMMAND_NAMES = ("generate", "caption", "predict", "inbetween", "render")
MAX_SECONDS = 30.0
MIN_FRAMES = 4  # one motion token


class CommandError(Exception):
    """A user error reported as one line and exit code 2 (bad path, bad file, missing model)."""


class MotionResultLike(Protocol):
    """What the commands read from `motiongpt.lm.pipeline.MotionResult`."""

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


def slugify(text: str, max_words: int = 6) -> str:
    """A file-name stem from a prompt: lower-case words joined by '_' (at most max_words)."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:max_words]
    return "_".join(words) or "motion"


def seconds_to_frames(seconds: float) -> int:
    """Seconds -> frames at 20 fps (at least 1)."""
    return max(1, round(seconds * FPS))


def positive_seconds(value: str) -> float:
    """argparse type: a duration in (0, MAX_SECONDS] seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"seconds must be in (0, {MAX_SECONDS:g}], got {value}")
    return seconds


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


def read_motion(path: str | Path) -> np.ndarray:
    """load_motion with errors turned into CommandError; returns SMPL-22 joints (T, 22, 3)."""
    joints = load_motion_or_fail(Path(path))
    if joints.shape[1] != 22:
        raise CommandError(f"{path}: the model works on the 22-joint SMPL skeleton, got {joints.shape[1]} joints")
    return joints


def model_input(joints: np.ndarray, path: Path | str, last_seconds: float | None = None) -> np.ndarray:
    """SMPL-22 joints (T, 22, 3) for the pipeline, optionally only the last `last_seconds` seconds."""
    if last_seconds is not None:
        joints = joints[-seconds_to_frames(last_seconds):]
    if joints.shape[0] < MIN_FRAMES:
        raise CommandError(f"{path}: a motion needs at least {MIN_FRAMES} frames, got {joints.shape[0]}")
    return joints


def call_pipeline(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a pipeline method; its input errors (ValueError naming the item) become CommandError."""
    try:
        return method(*args, **kwargs)
    except ValueError as e:
        raise CommandError(str(e)) from None


def check_result(result: MotionResultLike, what: str) -> None:
    """Raise CommandError when the pipeline reports a failure."""
    if not result.ok:
        raise CommandError(f"{what} failed: {result.error or 'the model produced no motion'}")


def save_motion_outputs(
    result: MotionResultLike, out_dir: Path, stem: str, caption: str | None, video: bool = True
) -> SavedMotion:
    """Write video, BVH, joints/features .npy, JSON and caption text for one result; returns the paths."""
    from motiongpt.render.video import render_video

    if result.joints is None:
        raise CommandError(f"{stem}: the model returned no joints")
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if video:
        files["video"] = render_video([result.joints], out_dir / f"{stem}.mp4", captions=[caption], fps=FPS).path
    files["bvh"] = save_bvh(out_dir / f"{stem}.bvh", result.joints, fps=FPS)
    files["joints"] = save_joints_npy(out_dir / f"{stem}_joints.npy", result.joints)
    if result.features is not None:
        files["features"] = save_features_npy(out_dir / f"{stem}_features.npy", result.features)
    files["json"] = save_motion_json(out_dir / f"{stem}.json", result.joints, fps=FPS, caption=caption)
    if caption:
        atomic_write_text(out_dir / f"{stem}.txt", caption + "\n")
        files["caption"] = out_dir / f"{stem}.txt"
    return SavedMotion(stem, files)


def _print_saved(saved: Sequence[SavedMotion]) -> None:
    for item in saved:
        print(f"{item.stem}:")
        print("\n".join(item.lines()))


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help=f"model folder (default: $MOTIONGPT_MODEL or {default_model_dir()})")


def _output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default: out/)")
    parser.add_argument("--name", default=None, help="file-name stem of the outputs (default: from the text/file)")
    parser.add_argument("--no-video", action="store_true", help="skip the mp4 (faster)")


def _sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible samples")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default: 1.0)")
    parser.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling probability mass")


def sampling(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's sampling keyword arguments from parsed options."""
    return {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed}


def _parser(name: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=f"motiongpt {name}", description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def generate_parser() -> argparse.ArgumentParser:
    p = _parser("generate", "Text -> motion: writes mp4, BVH, joints/features .npy, JSON and the caption.",
                'example:\n  motiongpt generate "a person waves with the right hand" --seconds 4 --out out/')
    p.add_argument("text", help="what the person does, in English")
    p.add_argument("--seconds", type=positive_seconds, default=None,
                   help="motion length in seconds (default: the model decides)")
    p.add_argument("--num-samples", type=int, default=1, help="how many motions to sample (default: 1)")
    _sampling_args(p)
    _model_args(p)
    _output_args(p)
    return p


def run_generate(args: argparse.Namespace) -> int:
    if args.num_samples < 1:
        raise CommandError(f"--num-samples must be at least 1, got {args.num_samples}")
    if not args.text.strip():
        raise CommandError("the text is empty: describe the motion, e.g. \"a person jumps\"")
    pipeline = load_pipeline(args.model)
    lengths = None if args.seconds is None else [seconds_to_frames(args.seconds)]
    print(f"generating {args.num_samples} motion(s) for {args.text!r} ...", file=sys.stderr)
    results = call_pipeline(
        pipeline.text_to_motion, [args.text], lengths=lengths, num_samples=args.num_samples, **sampling(args)
    )
    stem = args.name or slugify(args.text)
    saved = []
    for i, result in enumerate(results):
        check_result(result, "generation")
        item_stem = stem if len(results) == 1 else f"{stem}_{i}"
        saved.append(save_motion_outputs(result, args.out, item_stem, args.text, video=not args.no_video))
    _print_saved(saved)
    return 0


def caption_parser() -> argparse.ArgumentParser:
    p = _parser("caption", "Motion -> text: prints a caption of a BVH / joints .npy / features .npy file.",
                "example:\n  motiongpt caption clip.bvh")
    p.add_argument("file", type=Path, help="motion file (.bvh, .npy, .json)")
    _model_args(p)
    return p


def run_caption(args: argparse.Namespace) -> int:
    joints = model_input(read_motion(args.file), args.file)
    pipeline = load_pipeline(args.model)
    (result,) = call_pipeline(pipeline.motion_to_text, [joints])
    check_result(result, "captioning")
    print(result.text)
    return 0


def predict_parser() -> argparse.ArgumentParser:
    p = _parser("predict", "Continue a motion: the file is the beginning, the model writes what follows.",
                "example:\n  motiongpt predict clip.bvh --seconds 3 --out out/")
    p.add_argument("file", type=Path, help="the beginning of the motion (.bvh, .npy, .json)")
    p.add_argument("--seconds", type=positive_seconds, default=2.0,
                   help="seconds to add after the beginning (default: 2)")
    p.add_argument("--prefix-seconds", type=positive_seconds, default=None,
                   help="use only the last S seconds of the file as the beginning (default: all of it)")
    _sampling_args(p)
    _model_args(p)
    _output_args(p)
    return p


def run_predict(args: argparse.Namespace) -> int:
    prefix = model_input(read_motion(args.file), args.file, args.prefix_seconds)
    pipeline = load_pipeline(args.model)
    print(f"predicting the continuation of {args.file} ...", file=sys.stderr)
    total = prefix.shape[0] + seconds_to_frames(args.seconds)
    (result,) = call_pipeline(pipeline.predict, [prefix], [total], **sampling(args))
    check_result(result, "prediction")
    stem = args.name or f"{args.file.stem}_continued"
    _print_saved([save_motion_outputs(result, args.out, stem, result.text, video=not args.no_video)])
    return 0


def inbetween_parser() -> argparse.ArgumentParser:
    p = _parser("inbetween", "Fill the motion between the end of file A and the start of file B.",
                "example:\n  motiongpt inbetween start.bvh end.bvh --seconds 2 --out out/")
    p.add_argument("start", type=Path, help="motion before the gap (.bvh, .npy, .json)")
    p.add_argument("end", type=Path, help="motion after the gap (.bvh, .npy, .json)")
    p.add_argument("--seconds", type=positive_seconds, default=2.0,
                   help="length of the gap to fill in seconds (default: 2)")
    _sampling_args(p)
    _model_args(p)
    _output_args(p)
    return p


def run_inbetween(args: argparse.Namespace) -> int:
    start = model_input(read_motion(args.start), args.start)
    end = model_input(read_motion(args.end), args.end)
    pipeline = load_pipeline(args.model)
    print(f"filling the gap between {args.start} and {args.end} ...", file=sys.stderr)
    total = start.shape[0] + seconds_to_frames(args.seconds) + end.shape[0]
    (result,) = call_pipeline(pipeline.inbetween, [start], [end], [total], **sampling(args))
    check_result(result, "in-betweening")
    stem = args.name or f"{args.start.stem}_to_{args.end.stem}"
    _print_saved([save_motion_outputs(result, args.out, stem, result.text, video=not args.no_video)])
    return 0


def render_parser() -> argparse.ArgumentParser:
    p = _parser("render", "Render motion files to a skeleton video (side by side when several) or a PNG strip.",
                "examples:\n  motiongpt render clip.bvh\n"
                "  motiongpt render real.npy generated.npy --out compare.mp4 --caption real --caption generated\n"
                "  motiongpt render clip.bvh --strip --out clip.png")
    p.add_argument("files", type=Path, nargs="+", help="motion files (.bvh, .npy, .json)")
    p.add_argument("--out", type=Path, default=None,
                   help="output .mp4 / .gif (or .png with --strip); default: beside the first file")
    p.add_argument("--caption", action="append", default=None,
                   help="title of a panel (repeat once per file)")
    p.add_argument("--strip", action="store_true", help="save a PNG strip of key frames instead of a video")
    p.add_argument("--frames", type=int, default=8, help="key frames in a --strip (default: 8)")
    return p


def _progress_bar(total_label: str) -> Callable[[int, int], None]:
    """A tqdm-backed (done, total) callback on stderr."""
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=total_label, unit="frame", file=sys.stderr, leave=False)
        bar["bar"].update(done - bar["bar"].n)
        if done >= total:
            bar["bar"].close()

    return update


def run_render(args: argparse.Namespace) -> int:
    from motiongpt.render.video import RenderError, render_strip, render_video

    motions = [load_motion_or_fail(f) for f in args.files]
    captions = args.caption
    if captions is not None and len(captions) != len(args.files):
        raise CommandError(f"got {len(captions)} --caption for {len(args.files)} files (one per file)")
    first = args.files[0]
    try:
        if args.strip:
            if len(motions) != 1:
                raise CommandError("--strip renders one file at a time")
            out = args.out or first.with_suffix(".png")
            print(render_strip(motions[0], out, n=args.frames, caption=captions[0] if captions else None))
        else:
            out = args.out or first.with_suffix(".mp4")
            info = render_video(motions, out, captions=captions, fps=FPS, progress=_progress_bar("rendering"))
            print(info.path)
            print(f"{info.frames} frames, {info.width}x{info.height}, {info.fps:.0f} frames/s", file=sys.stderr)
    except RenderError as e:
        raise CommandError(str(e)) from None
    return 0


def load_motion_or_fail(path: Path) -> np.ndarray:
    """load_motion for rendering (SMPL-22 or KIT-21), errors as CommandError."""
    try:
        return load_motion(path)
    except MotionFileError as e:
        raise CommandError(str(e)) from None


COMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {
    "generate": (generate_parser, run_generate),
    "caption": (caption_parser, run_caption),
    "predict": (predict_parser, run_predict),
    "inbetween": (inbetween_parser, run_inbetween),
    "render": (render_parser, run_render),
}


def main(argv: list[str]) -> int:
    """Entry point: argv[0] is the command name (generate | caption | predict | inbetween | render)."""
    if not argv or argv[0] not in COMMANDS:
        given = argv[0] if argv else "(none)"
        print(f"motiongpt: unknown command {given!r}; expected one of {', '.join(COMMAND_NAMES)}", file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    build, run = COMMANDS[name]
    try:
        args = build().parse_args(rest)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed by argparse
        return int(e.code or 0)
    try:
        return run(args)
    except CommandError as e:
        print(f"motiongpt {name}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --out names a file, or a folder that cannot be written
        print(f"motiongpt {name}: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
