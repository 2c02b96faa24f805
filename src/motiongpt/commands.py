"""The user-facing commands: generate, caption, predict, inbetween, render (`motiongpt COMMAND --help`).

    motiongpt generate "a person waves with the right hand" --seconds 4 --out out/
    motiongpt generate "a person jumps" --format glb,bvh --name jump --out out/
    motiongpt caption clip.bvh
    motiongpt predict clip.bvh --seconds 3 --out out/
    motiongpt inbetween start.npy end.npy --seconds 2 --out out/
    motiongpt render clip.bvh other_joints.npy --out compare.mp4 --caption "real" --caption "generated"

Generating commands write, per motion and per `--format` (default mp4,bvh,npy,json; glb on request):
`<stem>.mp4` (skeleton video), `<stem>.bvh`, `<stem>_joints.npy` (T, 22, 3) and `<stem>_features.npy`
(T, 263), `<stem>.json`, `<stem>.glb`, plus `<stem>.txt` (the caption), then print the paths. Every output
is first written into a staging folder inside `--out` and moved into place only when all of them were
written: a command leaves all its outputs or none, and its error names the path that failed.
File formats: docs/FORMATS.md. Bad options, paths and files end with exit code 2 and a one-line message;
options are checked before the model is loaded, motion files (size, length, frame rate: `--max-seconds`,
`--max-frames`, `--max-file-mb`) before it too.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from motiongpt.argtypes import int_in, positive, temperature, top_p
from motiongpt.io.export import MotionFileError, load_motion
from motiongpt.io.limits import add_limit_args, applied_limits
from motiongpt.motion.constants import FPS, MIN_INPUT_FRAMES
from motiongpt.paths import default_model_dir
from motiongpt.progress import progress
from motiongpt.service import (  # noqa: F401  (re-exported: shared with the demo)
    CommandError,
    MotionResultLike,
    SavedMotion,
    call_pipeline,
    load_pipeline,
    save_motion_outputs,
    seconds_to_frames,
)

COMMAND_NAMES = ("generate", "caption", "predict", "inbetween", "render")
MAX_SECONDS = 10.0  # the model's longest motion: 50 motion tokens of 4 frames at 20 fps
MAX_SAMPLES = 32
MAX_STRIP_FRAMES = 64
MAX_PROMPT_CHARS = 300  # longer than any HumanML3D caption; the text is cut at a word boundary
FORMATS = ("mp4", "bvh", "npy", "json", "glb")
DEFAULT_FORMATS = ("mp4", "bvh", "npy", "json")
KIND_FORMAT = {"video": "mp4", "bvh": "bvh", "glb": "glb", "joints": "npy", "features": "npy", "json": "json",
               "caption": None}  # output kind of save_motion_outputs -> the --format that asks for it (None: always)
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def slugify(text: str, max_words: int = 6) -> str:
    """A file-name stem from a prompt: lower-case words joined by '_' (at most max_words)."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:max_words]
    return "_".join(words) or "motion"


# ---- argparse types: nonsense is refused at parse time, before any model is loaded ---------------------------

def positive_seconds(value: str) -> float:
    """A duration in (0, MAX_SECONDS] seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"seconds must be in (0, {MAX_SECONDS:g}] (the model's limit), got {value}")
    return seconds


def file_stem(value: str) -> str:
    """A plain file-name stem (letters, digits, . _ -): never a path, so outputs stay inside --out."""
    if not _STEM.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a plain file name (letters, digits, '.', '_', '-'; no '/' or leading '.')")
    return value


def formats(value: str) -> tuple[str, ...]:
    """A comma list of output formats, e.g. 'mp4,bvh' (duplicates dropped, order kept)."""
    items = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [v for v in items if v not in FORMATS]
    if unknown or not items:
        raise argparse.ArgumentTypeError(f"unknown format(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {','.join(FORMATS)}")
    return items


# ---- inputs --------------------------------------------------------------------------------------------------

def load_motion_or_fail(path: Path) -> np.ndarray:
    """load_motion (SMPL-22 or KIT-21), errors as CommandError."""
    try:
        return load_motion(path)
    except MotionFileError as e:
        raise CommandError(str(e)) from None


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
    if joints.shape[0] < MIN_INPUT_FRAMES:
        raise CommandError(f"{path}: a motion needs at least {MIN_INPUT_FRAMES} frames, got {joints.shape[0]}")
    return joints


def prompt_text(text: str) -> str:
    """The prompt, stripped; cut at a word boundary to MAX_PROMPT_CHARS with a one-line note."""
    text = " ".join(text.split())
    if not text:
        raise CommandError("the text is empty: describe the motion, e.g. \"a person jumps\"")
    if len(text) <= MAX_PROMPT_CHARS:
        return text
    cut = text[:MAX_PROMPT_CHARS + 1].rsplit(" ", 1)[0] if " " in text[:MAX_PROMPT_CHARS] else text[:MAX_PROMPT_CHARS]
    print(f"note: the text has {len(text)} characters; using the first {len(cut)} (limit {MAX_PROMPT_CHARS})",
          file=sys.stderr)
    return cut


def check_result(result: MotionResultLike, what: str) -> None:
    """Raise CommandError when the pipeline reports a failure."""
    if not result.ok:
        raise CommandError(f"{what} failed: {result.error or 'the model produced no motion'}")


# ---- outputs: all or none ------------------------------------------------------------------------------------

def output_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """--format minus mp4 under --no-video; glb needs motiongpt.io.gltf (checked before the model loads)."""
    chosen = tuple(f for f in args.format if not (args.no_video and f == "mp4"))
    if "glb" in chosen:
        try:
            import motiongpt.io.gltf  # noqa: F401
        except ImportError as e:
            raise CommandError(f"--format glb: the glTF writer is unavailable ({e})") from None
    return chosen


def prepare_out_dir(out: Path) -> None:
    """--out must be (or become) a folder."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out}: is a file, expected a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"--out {out}: cannot create the folder ({e.strerror or e})") from None


def _stage(result: MotionResultLike, staging: Path, out: Path, stem: str, caption: str | None,
           chosen: Sequence[str]) -> SavedMotion:
    """Write one result's outputs into `staging`; errors name the final path in `out`."""
    try:
        saved = save_motion_outputs(result, staging, stem, caption, video="mp4" in chosen, glb="glb" in chosen)
    except (OSError, ValueError) as e:
        where = getattr(e, "filename", None) or str(out / stem)
        message = (e.strerror if isinstance(e, OSError) and e.strerror else str(e))
        raise CommandError(f"{where}: cannot write: {message}".replace(str(staging), str(out))) from None
    wanted = {k: p for k, p in saved.files.items() if KIND_FORMAT.get(k) is None or KIND_FORMAT[k] in chosen}
    return SavedMotion(stem, wanted)


def _move_all(staged: Sequence[SavedMotion], out: Path) -> list[SavedMotion]:
    """Move every staged file into `out`; on the first failure remove those already moved."""
    moved: list[Path] = []
    final = []
    try:
        for item in staged:
            files = {}
            for kind, path in item.files.items():
                target = out / path.name
                os.replace(path, target)
                moved.append(target)
                files[kind] = target
            final.append(SavedMotion(item.stem, files))
    except OSError as e:
        for path in moved:
            path.unlink(missing_ok=True)
        raise CommandError(f"{out / Path(e.filename or '').name}: cannot move into place: {e.strerror or e}") from None
    return final


def write_outputs(results: Sequence[MotionResultLike], out: Path, stems: Sequence[str],
                  captions: Sequence[str | None], chosen: Sequence[str]) -> list[SavedMotion]:
    """Write every result in every chosen format: all files, or none (staging folder inside `out`)."""
    prepare_out_dir(out)
    staging = Path(tempfile.mkdtemp(prefix=".motiongpt-staging-", dir=out))
    try:
        items = list(zip(results, stems, captions))
        staged = [_stage(r, staging, out, s, c, chosen)
                  for r, s, c in progress(items, desc="saving", enabled=len(items) > 1)]
        return _move_all(staged, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_saved(saved: Sequence[SavedMotion]) -> None:
    for item in saved:
        print(f"{item.stem}:")
        print("\n".join(item.lines()))


def _start_generation(args: argparse.Namespace, message: str) -> tuple[tuple[str, ...], Any]:
    """Check the output options and folder, load the model, then say what is being made (stderr).

    Returns (chosen formats, pipeline): bad output options fail before the slow model load."""
    chosen = output_formats(args)
    prepare_out_dir(args.out)
    pipeline = load_pipeline(args.model)
    print(message, file=sys.stderr)
    return chosen, pipeline


def _save_single(result: MotionResultLike, args: argparse.Namespace, chosen: Sequence[str], what: str,
                 default_stem: str) -> int:
    """Check one generated result, write it under `--name` (or `default_stem`), print the paths; exit code."""
    check_result(result, what)
    _print_saved(write_outputs([result], args.out, [args.name or default_stem], [result.text], chosen))
    return 0


# ---- parsers -------------------------------------------------------------------------------------------------

def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=None, metavar="DIR",
                        help=f"model folder (default: $MOTIONGPT_MODEL or {default_model_dir()})")


def _output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default: out/)")
    parser.add_argument("--name", type=file_stem, default=None,
                        help="file-name stem of the outputs (default: from the text/file)")
    parser.add_argument("--format", type=formats, default=DEFAULT_FORMATS, metavar="LIST",
                        help=f"comma list of {','.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)})")
    parser.add_argument("--no-video", action="store_true", help="skip the mp4 (faster)")


def _sampling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible samples")
    parser.add_argument("--temperature", type=temperature, default=None,
                        help="sampling temperature >= 0 (0 is greedy; default: the model's, 0.7 for text-to-motion, "
                             "0.8 for prediction and 0.5 for in-between)")
    parser.add_argument("--top-k", type=int_in(1, None), default=None, help="sample from the k >= 1 most likely tokens")
    parser.add_argument("--top-p", type=top_p, default=None, help="nucleus sampling probability mass in (0, 1]")


def _generation_args(parser: argparse.ArgumentParser, reads_motion: bool) -> None:
    """The options every generating command ends with: sampling, model, outputs and, for the commands that
    read motion files, their size limits."""
    _sampling_args(parser)
    _model_args(parser)
    _output_args(parser)
    if reads_motion:
        add_limit_args(parser)


def sampling(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's sampling keyword arguments from parsed options."""
    chosen = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed}
    return {k: v for k, v in chosen.items() if v is not None or k != "temperature"}


def _parser(name: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=f"motiongpt {name}", description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def generate_parser() -> argparse.ArgumentParser:
    p = _parser("generate", "Text -> motion: writes mp4, BVH, joints/features .npy, JSON (and GLB) and the caption.",
                'examples:\n  motiongpt generate "a person waves with the right hand" --seconds 4 --out out/\n'
                '  motiongpt generate "a person jumps" --format glb,bvh --name jump\n'
                '  motiongpt generate "someone runs in a circle" --num-samples 4 --no-video --seed 1')
    p.add_argument("text", help=f"what the person does, in English (at most {MAX_PROMPT_CHARS} characters are used)")
    p.add_argument("--seconds", type=positive_seconds, default=None,
                   help=f"motion length in seconds, at most {MAX_SECONDS:g} (default: the model decides)")
    p.add_argument("--num-samples", type=int_in(1, MAX_SAMPLES), default=1,
                   help=f"how many motions to sample, 1-{MAX_SAMPLES} (default: 1)")
    p.add_argument("--guidance", type=positive(float), default=None,
                   help="classifier-free guidance scale > 0: how strongly the text steers the motion, 1 = off "
                        "(default: the model's)")
    _generation_args(p, reads_motion=False)
    return p


def run_generate(args: argparse.Namespace) -> int:
    text = prompt_text(args.text)
    chosen, pipeline = _start_generation(args, f"generating {args.num_samples} motion(s) for {text[:60]!r} ...")
    lengths = None if args.seconds is None else [seconds_to_frames(args.seconds)]
    results = call_pipeline(
        pipeline.text_to_motion, [text], lengths=lengths, num_samples=args.num_samples, **sampling(args),
        **({} if args.guidance is None else {"guidance": args.guidance})
    )
    for result in results:
        check_result(result, "generation")
    stem = args.name or slugify(text)
    stems = [stem] if len(results) == 1 else [f"{stem}_{i}" for i in range(len(results))]
    _print_saved(write_outputs(results, args.out, stems, [text] * len(results), chosen))
    return 0


def caption_parser() -> argparse.ArgumentParser:
    p = _parser("caption", "Motion -> text: prints a caption of a BVH / joints .npy / features .npy / JSON file.",
                "examples:\n  motiongpt caption clip.bvh\n  motiongpt caption long_take.bvh --max-seconds 1200")
    p.add_argument("file", type=Path, help="motion file (.bvh, .npy, .json)")
    _model_args(p)
    add_limit_args(p)
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
                "examples:\n  motiongpt predict clip.bvh --seconds 3 --out out/\n"
                "  motiongpt predict clip.npy --prefix-seconds 1 --format bvh,json")
    p.add_argument("file", type=Path, help="the beginning of the motion (.bvh, .npy, .json)")
    p.add_argument("--seconds", type=positive_seconds, default=2.0,
                   help="seconds to add after the beginning (default: 2)")
    p.add_argument("--prefix-seconds", type=positive_seconds, default=None,
                   help="use only the last S seconds of the file as the beginning (default: all of it)")
    _generation_args(p, reads_motion=True)
    return p


def run_predict(args: argparse.Namespace) -> int:
    prefix = model_input(read_motion(args.file), args.file, args.prefix_seconds)
    chosen, pipeline = _start_generation(args, f"predicting the continuation of {args.file} ...")
    total = prefix.shape[0] + seconds_to_frames(args.seconds)
    (result,) = call_pipeline(pipeline.predict, [prefix], [total], **sampling(args))
    return _save_single(result, args, chosen, "prediction", file_stem_of(args.file, "continued"))


def inbetween_parser() -> argparse.ArgumentParser:
    p = _parser("inbetween", "Fill the motion between the end of file A and the start of file B.",
                "examples:\n  motiongpt inbetween start.bvh end.bvh --seconds 2 --out out/\n"
                "  motiongpt inbetween a.npy b.npy --seconds 1.5 --format npy --name bridge")
    p.add_argument("start", type=Path, help="motion before the gap (.bvh, .npy, .json)")
    p.add_argument("end", type=Path, help="motion after the gap (.bvh, .npy, .json)")
    p.add_argument("--seconds", type=positive_seconds, default=2.0,
                   help="length of the gap to fill in seconds (default: 2)")
    _generation_args(p, reads_motion=True)
    return p


def run_inbetween(args: argparse.Namespace) -> int:
    start = model_input(read_motion(args.start), args.start)
    end = model_input(read_motion(args.end), args.end)
    chosen, pipeline = _start_generation(args, f"filling the gap between {args.start} and {args.end} ...")
    total = start.shape[0] + seconds_to_frames(args.seconds) + end.shape[0]
    (result,) = call_pipeline(pipeline.inbetween, [start], [end], [total], **sampling(args))
    return _save_single(result, args, chosen, "in-betweening", file_stem_of(args.start, f"to_{args.end.stem}"))


def file_stem_of(path: Path, suffix: str) -> str:
    """`<file stem>_<suffix>` reduced to a plain file name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{path.stem}_{suffix}").strip("._-")[:100] or "motion"


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
    p.add_argument("--frames", type=int_in(1, MAX_STRIP_FRAMES), default=8,
                   help=f"key frames in a --strip, 1-{MAX_STRIP_FRAMES} (default: 8)")
    add_limit_args(p)
    return p


def run_render(args: argparse.Namespace) -> int:
    from motiongpt.render.video import RenderError, render_strip, render_video

    captions = args.caption
    if captions is not None and len(captions) != len(args.files):
        raise CommandError(f"got {len(captions)} --caption for {len(args.files)} files (one per file)")
    if args.strip and len(args.files) != 1:
        raise CommandError("--strip renders one file at a time")
    motions = [load_motion_or_fail(f) for f in args.files]
    first = args.files[0]
    try:
        if args.strip:
            out = args.out or first.with_suffix(".png")
            print(render_strip(motions[0], out, n=args.frames, caption=captions[0] if captions else None))
        else:
            out = args.out or first.with_suffix(".mp4")
            info = render_video(motions, out, captions=captions, fps=FPS)
            print(info.path)
            print(f"{info.frames} frames, {info.width}x{info.height}, {info.fps:.0f} frames/s", file=sys.stderr)
    except RenderError as e:
        raise CommandError(str(e)) from None
    return 0


COMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {
    "generate": (generate_parser, run_generate),
    "caption": (caption_parser, run_caption),
    "predict": (predict_parser, run_predict),
    "inbetween": (inbetween_parser, run_inbetween),
    "render": (render_parser, run_render),
}


def _one_line(e: BaseException) -> str:
    """An exception as one line."""
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {e.filename}" if e.filename else e.strerror
    return " ".join(str(e).split()) or type(e).__name__


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
        with applied_limits(args):
            return run(args)
    except (CommandError, OSError, MemoryError) as e:  # OSError: e.g. a folder that cannot be written
        print(f"motiongpt {name}: error: {_one_line(e)}", file=sys.stderr)
        return 2
