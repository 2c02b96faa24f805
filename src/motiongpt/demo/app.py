"""Gradio chat demo: text -> motion video, motion file -> caption / continuation / in-between.

    motiongpt demo [--model DIR] [--host 127.0.0.1] [--port 7860]

Type a description ("a person waves with the right hand") to get a skeleton video with downloads (mp4, BVH,
joints/features .npy, JSON). Upload a BVH / .npy / .json motion and ask for a caption ("what is this?"), a
continuation ("continue it") or, with two files, an in-between ("fill the gap"). Binds 127.0.0.1 by default
(no public share link is offered); one generation runs at a time (queue); uploads are size-limited and
validated; each browser session writes into its own temporary folder, removed when the tab closes, after
`--ttl` seconds, and when the server exits.
"""
from __future__ import annotations

import argparse
import atexit
import logging
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from motiongpt.commands import (
    MIN_FRAMES,
    CommandError,
    MotionResultLike,
    SavedMotion,
    call_pipeline,
    load_pipeline,
    save_motion_outputs,
    seconds_to_frames,
)
from motiongpt.io.export import MOTION_SUFFIXES, MotionFileError, load_motion
from motiongpt.motion.skeleton import SMPL22

log = logging.getLogger(__name__)

MAX_UPLOAD_MB = 20
MAX_UPLOAD_SECONDS = 60.0
SESSION_TTL_S = 3600
PREFIX_SECONDS = 2.0  # of an uploaded clip given to continue / in-between
LOOPBACK = ("127.0.0.1", "localhost", "::1")

TASKS = ("auto", "text to motion", "caption", "continue", "in-between", "free chat")
EXAMPLES = (
    "a person waves with the right hand",
    "a person walks forward and then turns left",
    "an elderly person slowly walks and turns right",
    "a person kicks with the left leg",
)
CONTINUE_WORDS = re.compile(r"\b(continue|continuation|predict|next|after|extend|finish)\b", re.I)
BETWEEN_WORDS = re.compile(r"\b(between|in-?between|inbetween|fill|connect|join|transition)\b", re.I)


class UploadError(ValueError):
    """An upload the demo refuses; the message is shown in the chat."""


@dataclass(frozen=True)
class DemoSettings:
    """Limits of one demo server."""

    max_upload_mb: float = MAX_UPLOAD_MB
    max_upload_seconds: float = MAX_UPLOAD_SECONDS
    session_ttl_s: float = SESSION_TTL_S
    concurrency: int = 1


def validate_upload(path: str | Path, settings: DemoSettings = DemoSettings()) -> np.ndarray:
    """An uploaded motion file -> SMPL-22 joints (T, 22, 3); UploadError with a readable reason otherwise."""
    path = Path(path)
    name = path.name
    if path.suffix.lower() not in MOTION_SUFFIXES:
        raise UploadError(f"{name}: unsupported file type; upload a .bvh, .npy (joints or features) or .json motion")
    size_mb = path.stat().st_size / 2**20 if path.exists() else 0.0
    if size_mb > settings.max_upload_mb:
        raise UploadError(f"{name}: {size_mb:.1f} MB is over the {settings.max_upload_mb:g} MB upload limit")
    try:
        joints = load_motion(path)
    except MotionFileError as e:
        raise UploadError(str(e).replace(str(path), name)) from None
    if joints.shape[1] != SMPL22.num_joints:
        raise UploadError(f"{name}: the model needs the 22-joint SMPL skeleton, got {joints.shape[1]} joints")
    seconds = joints.shape[0] / 20
    if seconds > settings.max_upload_seconds:
        raise UploadError(f"{name}: {seconds:.0f} s is longer than the {settings.max_upload_seconds:g} s limit")
    if joints.shape[0] < MIN_FRAMES:
        raise UploadError(f"{name}: a motion needs at least {MIN_FRAMES} frames, got {joints.shape[0]}")
    return joints


def route(message: str, n_motions: int, task: str = "auto") -> str:
    """Which task a chat turn asks for: one of TASKS except 'auto'."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if task != "auto":
        return task
    if n_motions >= 2 and BETWEEN_WORDS.search(message):
        return "in-between"
    if n_motions >= 1:
        return "continue" if CONTINUE_WORDS.search(message) else "caption"
    return "text to motion"


def check_inputs(task: str, message: str, motions: list[np.ndarray]) -> None:
    """UploadError when a task lacks what it needs (text or motion files)."""
    needs = {"caption": 1, "continue": 1, "in-between": 2}
    if task in needs and len(motions) < needs[task]:
        raise UploadError(f"'{task}' needs {needs[task]} uploaded motion file(s); got {len(motions)}")
    if task in ("text to motion", "free chat") and not message.strip():
        raise UploadError("type a description of the motion, e.g. \"a person jumps\"")


class SessionStore:
    """Per-session temporary folders under one root; old ones are swept, all removed at exit."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, root: Path | None = None):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="motiongpt-demo-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._turns = 0

    def new_turn_dir(self, session: str) -> Path:
        """A fresh folder for one chat turn of one session (old sessions are swept first)."""
        self.sweep()
        self._turns += 1
        path = self.session_dir(session) / f"turn{self._turns:05d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def session_dir(self, session: str) -> Path:
        """The folder of one session (the id is reduced to safe characters)."""
        safe = re.sub(r"[^A-Za-z0-9_-]", "", session)[:64] or "anonymous"
        return self.root / safe

    def remove(self, session: str) -> None:
        """Delete one session's files."""
        shutil.rmtree(self.session_dir(session), ignore_errors=True)

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete session folders untouched for longer than the TTL; returns what was removed."""
        now = time.time() if now is None else now
        removed = []
        for path in self.root.iterdir():
            if path.is_dir() and now - path.stat().st_mtime > self.ttl_s:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def cleanup(self) -> None:
        """Delete everything (server exit)."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Reply:
    """One assistant turn: text, optional video and files to download."""

    text: str
    video: Path | None = None
    files: list[Path] | None = None


class DemoBackend:
    """The demo's logic without Gradio: a chat turn in, a Reply out (testable without a browser)."""

    def __init__(self, pipeline: Any, settings: DemoSettings = DemoSettings(), store: SessionStore | None = None):
        self.pipeline = pipeline
        self.settings = settings
        self.store = store or SessionStore(settings.session_ttl_s)

    def respond(
        self, message: str, uploads: list[str], session: str, *, task: str = "auto", seconds: float = 4.0,
        temperature: float = 1.0, seed: int | None = None,
    ) -> Reply:
        """Answer one chat turn; bad uploads and model failures become a readable reply, never an exception."""
        try:
            motions = [validate_upload(p, self.settings) for p in uploads]
            chosen = route(message, len(motions), task)
            check_inputs(chosen, message, motions)
            return self._run(chosen, message, motions, session, seconds, temperature, seed)
        except (UploadError, CommandError) as e:
            return Reply(f"Sorry, I can't do that: {e}")
        except Exception:  # the demo must answer; the traceback goes to the server log
            log.exception("demo turn failed: task=%s message=%r", task, message)
            return Reply("Sorry, something went wrong while generating (details are in the server log).")

    def _run(
        self, task: str, message: str, motions: list[np.ndarray], session: str, seconds: float,
        temperature: float, seed: int | None,
    ) -> Reply:
        """Call the pipeline for a routed task and save its motion, if any."""
        frames = seconds_to_frames(seconds)
        sampling = {"temperature": temperature, "seed": seed}
        if task == "text to motion":
            (result,) = call_pipeline(self.pipeline.text_to_motion, [message], lengths=[frames], **sampling)
            return self._motion_reply(result, session, message, f"Here is a motion for “{message}”.")
        if task == "caption":
            (result,) = call_pipeline(self.pipeline.motion_to_text, [motions[0]])
            return self._text_reply(result)
        if task == "continue":
            prefix = motions[0][-seconds_to_frames(PREFIX_SECONDS):]  # (T', 22, 3): continue from the end
            total = prefix.shape[0] + frames
            (result,) = call_pipeline(self.pipeline.predict, [prefix], [total], **sampling)
            return self._motion_reply(result, session, None, "Here is how the motion could continue.")
        if task == "in-between":
            start = motions[0][-seconds_to_frames(PREFIX_SECONDS):]  # end of the first clip
            end = motions[1][: seconds_to_frames(PREFIX_SECONDS)]  # start of the second clip
            total = start.shape[0] + frames + end.shape[0]
            (result,) = call_pipeline(self.pipeline.inbetween, [start], [end], [total], **sampling)
            return self._motion_reply(result, session, None, "Here is a motion filling the gap.")
        given = [motions[0]] if motions else None
        (result,) = call_pipeline(self.pipeline.chat, [message], motions=given, **sampling)
        if result.joints is None:
            return self._text_reply(result)
        return self._motion_reply(result, session, result.text, result.text or "Here is a motion.")

    @staticmethod
    def _text_reply(result: MotionResultLike) -> Reply:
        if not result.ok:
            return Reply(f"Sorry, the model could not answer: {result.error or 'no output'}")
        return Reply(result.text or "(the model returned an empty answer)")

    def _motion_reply(self, result: MotionResultLike, session: str, caption: str | None, text: str) -> Reply:
        if not result.ok or result.joints is None:
            return Reply(f"Sorry, the model could not make a motion: {result.error or 'no output'}")
        out_dir = self.store.new_turn_dir(session)
        saved: SavedMotion = save_motion_outputs(result, out_dir, "motion", caption, video=True)
        seconds = result.joints.shape[0] / 20
        downloads = [saved.files[k] for k in ("video", "bvh", "joints", "features", "json") if k in saved.files]
        return Reply(f"{text} ({seconds:.1f} s)", saved.files.get("video"), downloads)


def _upload_paths(files: Any) -> list[str]:
    """gr.File(file_count='multiple') value -> file paths (None -> [])."""
    if not files:
        return []
    return [str(getattr(f, "name", f)) for f in files]


def build_demo(pipeline: Any, settings: DemoSettings = DemoSettings(), store: SessionStore | None = None):
    """The Gradio Blocks app around a Pipeline (or anything with its methods)."""
    backend = DemoBackend(pipeline, settings, store)

    def on_submit(message: str, files: Any, history: list, task: str, seconds: float, temperature: float,
                  seed: float | None, request: gr.Request):
        uploads = _upload_paths(files)
        user_text = message.strip() or "(no text)"
        if uploads:
            user_text += "\n\n📎 " + ", ".join(Path(p).name for p in uploads)
        session = request.session_hash if request is not None and request.session_hash else "anonymous"
        reply = backend.respond(
            message, uploads, session, task=task, seconds=seconds,
            temperature=temperature, seed=None if seed is None or seed < 0 else int(seed),
        )
        if reply.video is not None:
            reply_text = reply.text + "\n\n▶ The video and the downloads are on the right."
        else:
            reply_text = reply.text
        history = list(history or []) + [{"role": "user", "content": user_text},
                                         {"role": "assistant", "content": reply_text}]
        video = str(reply.video) if reply.video else None
        files_out = [str(p) for p in reply.files] if reply.files else None
        return history, video, files_out, ""

    def on_unload(request: gr.Request) -> None:
        if request is not None and request.session_hash:
            backend.store.remove(request.session_hash)

    with gr.Blocks(title="MotionGPT", delete_cache=(600, int(settings.session_ttl_s))) as demo:
        gr.Markdown(
            "# MotionGPT\nDescribe a motion to generate it, or upload a motion (.bvh / .npy / .json) and ask for "
            "a caption (“what is this?”), a continuation (“continue it”) or, with two files, an in-between "
            f"(“fill the gap”). Uploads up to {settings.max_upload_mb:g} MB and {settings.max_upload_seconds:g} s."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=480, elem_id="chat")
                message = gr.Textbox(label="Message", placeholder="a person waves with the right hand",
                                     elem_id="message", lines=1)
                uploads = gr.File(label="Motion files (optional)", file_count="multiple",
                                  file_types=list(MOTION_SUFFIXES), elem_id="uploads")
                send = gr.Button("Send", variant="primary", elem_id="send")
                gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[message])
            with gr.Column(scale=2):
                video = gr.Video(label="Motion", elem_id="video", autoplay=True, loop=True, interactive=False)
                downloads = gr.File(label="Downloads (mp4, BVH, npy, JSON)", elem_id="downloads",
                                    file_count="multiple", interactive=False)
                with gr.Accordion("Settings", open=True):
                    task = gr.Radio(list(TASKS), value="auto", label="Task")
                    seconds = gr.Slider(1, 10, value=4, step=0.5, label="Length (seconds)")
                    temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
                    seed = gr.Number(value=-1, precision=0, label="Seed (-1: random)")
        inputs = [message, uploads, chatbot, task, seconds, temperature, seed]
        outputs = [chatbot, video, downloads, message]
        send.click(on_submit, inputs, outputs, concurrency_id="generate")
        message.submit(on_submit, inputs, outputs, concurrency_id="generate")
        demo.unload(on_unload)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=32)
    return demo


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="motiongpt demo", description=__doc__.split("\n\n")[0],
        epilog="example:\n  motiongpt demo --model checkpoints/default --port 7860",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", type=Path, default=None, metavar="DIR", help="model folder (default: the shipped one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB, help="upload size limit in MB")
    p.add_argument("--ttl", type=float, default=SESSION_TTL_S, help="seconds before a session's files are removed")
    p.add_argument("--concurrency", type=int, default=1, help="generations running at once (default: 1)")
    return p


def main(argv: list[str]) -> int:
    """`motiongpt demo`: load the model, serve the app until Ctrl-C."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed by argparse
        return int(e.code or 0)
    if args.concurrency < 1 or not 0 < args.port < 65536:
        print("motiongpt demo: error: --concurrency must be >= 1 and --port in 1..65535", file=sys.stderr)
        return 2
    try:
        pipeline = load_pipeline(args.model)
    except CommandError as e:
        print(f"motiongpt demo: error: {e}", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}: anyone who can reach this address can use the demo", file=sys.stderr)
    settings = DemoSettings(max_upload_mb=args.max_upload_mb, session_ttl_s=args.ttl, concurrency=args.concurrency)
    store = SessionStore(settings.session_ttl_s)
    atexit.register(store.cleanup)
    demo = build_demo(pipeline, settings, store)
    demo.launch(server_name=args.host, server_port=args.port, share=False, allowed_paths=[str(store.root)],
                max_file_size=f"{args.max_upload_mb:g}mb", footer_links=[])
    return 0
