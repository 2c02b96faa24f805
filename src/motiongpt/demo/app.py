"""Gradio chat demo: text -> motion (video + interactive 3D viewer), follow-up turns, motion files -> text.

    motiongpt demo [--model DIR] [--host 127.0.0.1] [--port 7860]

Type a description ("a person waves with the right hand") to get a skeleton video, an animated 3D figure
(GLB, turn it with the mouse) and downloads (mp4, GLB, BVH, joints/features .npy, JSON). The chat remembers
the conversation of each browser tab (its last MAX_HISTORY_TURNS turns): the last motion is what "now make it
slower", "describe what you made" or "continue it" refer to. Upload a BVH / .npy / .json motion and ask for a
caption ("what is this?"), a continuation ("continue it") or, with two files, an in-between ("fill the gap").

Under load, text-to-motion requests that arrive together (within BATCH_WINDOW_S, or while the model is busy)
share one batched model call of up to MAX_BATCH prompts; every model call runs on one worker thread. Binds
127.0.0.1 by default (no public share link is offered); uploads are size- and duration-limited before they
are read; each browser session writes into its own temporary folder, removed when the tab closes, after
`--ttl` seconds, and when the server exits. Load benchmark: `python benchmarks/bench_demo.py`.
"""
from __future__ import annotations

import argparse
import atexit
import logging
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import numpy as np

from motiongpt.io.export import MOTION_SUFFIXES, MotionFileError, load_motion, read_npy_header
from motiongpt.io.limits import applied_limits
from motiongpt.lm.pipeline import T2M_TEMPERATURE, ChatTurn
from motiongpt.motion.constants import FPS, MIN_INPUT_FRAMES
from motiongpt.motion.skeleton import SMPL22
from motiongpt.service import CommandError, MotionResultLike, SavedMotion, call_pipeline, load_pipeline
from motiongpt.service import save_motion_outputs, seconds_to_frames

log = logging.getLogger(__name__)

MAX_UPLOAD_MB = 20
MAX_UPLOAD_SECONDS = 60.0
SESSION_TTL_S = 3600
PREFIX_SECONDS = 2.0  # of an uploaded clip given to continue / in-between
MAX_HISTORY_TURNS = 8  # user + assistant turns kept per session (4 exchanges)
MAX_BATCH = 8  # text-to-motion prompts per batched model call
BATCH_WINDOW_S = 0.01  # how long the worker waits for more prompts after the first
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
DESCRIBE_WORDS = re.compile(r"\b(describe|caption|explain|what|which|summari[sz]e)\b", re.I)


class UploadError(ValueError):
    """An upload the demo refuses; the message is shown in the chat."""


@dataclass(frozen=True)
class DemoSettings:
    """Limits and load handling of one demo server."""

    max_upload_mb: float = MAX_UPLOAD_MB
    max_upload_seconds: float = MAX_UPLOAD_SECONDS
    session_ttl_s: float = SESSION_TTL_S
    concurrency: int = MAX_BATCH  # chat turns handled at once (their model calls are batched / serialised)
    max_batch: int = MAX_BATCH
    batch_window_s: float = BATCH_WINDOW_S
    video: bool = True  # render an mp4 per motion (the 3D viewer needs none)


# --------------------------------------------------------------------------------------------- uploads

def _bvh_length(path: Path) -> tuple[int, float] | None:
    """(frames, fps) from a BVH's 'Frames:' and 'Frame Time:' lines, streaming the hierarchy; None if absent."""
    frames = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, _, value = line.strip().partition(":")
            try:
                if key == "Frames":
                    frames = int(value)
                elif key == "Frame Time" and frames is not None:
                    return frames, 1.0 / float(value)
            except (ValueError, ZeroDivisionError):
                return None
    return None


def _npy_length(path: Path) -> tuple[int, float] | None:
    """(frames, 20 fps) from an .npy header (joints or features; a leading batch axis of 1 is skipped)."""
    shape, _ = read_npy_header(path)
    if len(shape) >= 3 and shape[0] == 1 and (len(shape) == 4 or shape[-1] != 3):
        shape = shape[1:]
    return (shape[0], float(FPS)) if shape else None


def upload_length(path: Path) -> tuple[int, float] | None:
    """(frames, fps) of a .bvh / .npy read from its header only; None when the header does not say (.json)."""
    readers: dict[str, Callable[[Path], tuple[int, float] | None]] = {".bvh": _bvh_length, ".npy": _npy_length}
    reader = readers.get(path.suffix.lower())
    return reader(path) if reader is not None else None


def _check_before_loading(path: Path, settings: DemoSettings) -> None:
    """File type, size and (from the header) duration, before the motion is read."""
    name = path.name
    if path.suffix.lower() not in MOTION_SUFFIXES:
        raise UploadError(f"{name}: unsupported file type; upload a .bvh, .npy (joints or features) or .json motion")
    size_mb = path.stat().st_size / 2**20 if path.exists() else 0.0
    if size_mb > settings.max_upload_mb:
        raise UploadError(f"{name}: {size_mb:.1f} MB is over the {settings.max_upload_mb:g} MB upload limit")
    try:
        length = upload_length(path) if path.is_file() else None
    except MotionFileError as e:
        raise UploadError(str(e).replace(str(path), name)) from None
    if length is not None and length[1] > 0 and length[0] / length[1] > settings.max_upload_seconds:
        raise UploadError(f"{name}: {length[0] / length[1]:.0f} s is longer than the "
                          f"{settings.max_upload_seconds:g} s limit")


def validate_upload(path: str | Path, settings: DemoSettings = DemoSettings()) -> np.ndarray:
    """An uploaded motion file -> SMPL-22 joints (T, 22, 3); UploadError with a readable reason otherwise."""
    path = Path(path)
    name = path.name
    _check_before_loading(path, settings)
    try:
        joints = load_motion(path)
    except MotionFileError as e:
        raise UploadError(str(e).replace(str(path), name)) from None
    if joints.shape[1] != SMPL22.num_joints:
        raise UploadError(f"{name}: the model needs the 22-joint SMPL skeleton, got {joints.shape[1]} joints")
    seconds = joints.shape[0] / FPS
    if seconds > settings.max_upload_seconds:
        raise UploadError(f"{name}: {seconds:.0f} s is longer than the {settings.max_upload_seconds:g} s limit")
    if joints.shape[0] < MIN_INPUT_FRAMES:
        raise UploadError(f"{name}: a motion needs at least {MIN_INPUT_FRAMES} frames, got {joints.shape[0]}")
    return joints


# --------------------------------------------------------------------------------------------- routing

def route(message: str, n_motions: int, task: str = "auto", *, follow_up: bool = False,
          converse: bool = False) -> str:
    """Which task a chat turn asks for: one of TASKS except 'auto'.

    n_motions: motions uploaded with this turn. follow_up: the conversation already holds a motion (the
    referent of "it"). converse: the pipeline answers whole conversations (then it decides follow-ups).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if task != "auto":
        return task
    if n_motions >= 2 and BETWEEN_WORDS.search(message):
        return "in-between"
    if n_motions >= 1:
        return "continue" if CONTINUE_WORDS.search(message) else "caption"
    if follow_up and converse:
        return "free chat"
    if follow_up and CONTINUE_WORDS.search(message):
        return "continue"
    if follow_up and DESCRIBE_WORDS.search(message):
        return "caption"
    return "text to motion"


def check_inputs(task: str, message: str, motions: list[np.ndarray]) -> None:
    """UploadError when a task lacks what it needs (text or motion files)."""
    needs = {"caption": 1, "continue": 1, "in-between": 2}
    if task in needs and len(motions) < needs[task]:
        raise UploadError(f"'{task}' needs {needs[task]} uploaded motion file(s); got {len(motions)}")
    if task in ("text to motion", "free chat") and not message.strip():
        raise UploadError("type a description of the motion, e.g. \"a person jumps\"")


# --------------------------------------------------------------------------------------------- sessions

class SessionStore:
    """Per-session temporary folders under one root; old ones are swept, all removed at exit."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, root: Path | None = None):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="motiongpt-demo-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._turns = 0
        self._lock = threading.Lock()

    def new_turn_dir(self, session: str) -> Path:
        """A fresh folder for one chat turn of one session (old sessions are swept first)."""
        self.sweep()
        with self._lock:
            self._turns += 1
            turn = self._turns
        path = self.session_dir(session) / f"turn{turn:05d}"
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
            try:
                stale = path.is_dir() and now - path.stat().st_mtime > self.ttl_s
            except FileNotFoundError:  # removed by a concurrent sweep
                continue
            if stale:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def cleanup(self) -> None:
        """Delete everything (server exit)."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Conversation:
    """The last turns of one session (bounded) and when it was last used."""

    turns: list[ChatTurn] = field(default_factory=list)
    touched: float = field(default_factory=time.time)

    def last_motion(self) -> np.ndarray | None:
        """The newest motion in the conversation (given or generated): what "it" refers to."""
        return next((t.motion for t in reversed(self.turns) if t.motion is not None), None)

    def add(self, *turns: Any, keep: int = MAX_HISTORY_TURNS) -> None:
        """Append turns, keeping only the last `keep`."""
        self.turns = (self.turns + list(turns))[-keep:]
        self.touched = time.time()


class ConversationStore:
    """Conversations by session id; sessions idle for longer than the TTL are forgotten."""

    def __init__(self, ttl_s: float = SESSION_TTL_S):
        self.ttl_s = ttl_s
        self._items: dict[str, Conversation] = {}
        self._lock = threading.Lock()

    def get(self, session: str) -> Conversation:
        """The session's conversation (a new, empty one when unknown)."""
        with self._lock:
            now = time.time()
            for key in [k for k, c in self._items.items() if now - c.touched > self.ttl_s]:
                del self._items[key]
            return self._items.setdefault(session, Conversation())

    def remove(self, session: str) -> None:
        """Forget one session's conversation."""
        with self._lock:
            self._items.pop(session, None)


# --------------------------------------------------------------------------------------------- batching

@dataclass(eq=False)
class _Job:
    """Work for the model thread: text-to-motion prompts with equal keys may share one call."""

    key: object
    run: Callable[[list], list]  # items -> one result per item
    item: Any
    future: Future = field(default_factory=Future)


class BatchingWorker:
    """Runs every model call on one thread; text-to-motion prompts arriving together share a batched call.

    A prompt waits at most `window_s` for companions (none when the queue already holds some: the model was
    busy). Prompts batch only with equal sampling settings and no seed (a seeded prompt runs alone, so its
    result does not depend on other users). When a batched call raises, each prompt is retried alone so that
    one bad prompt fails only its own request.
    """

    def __init__(self, pipeline: Any, max_batch: int = MAX_BATCH, window_s: float = BATCH_WINDOW_S):
        self.pipeline = pipeline
        self.max_batch = max(1, max_batch)
        self.window_s = window_s
        self.batch_sizes: list[int] = []  # size of every model call made (text-to-motion batches included)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="motiongpt-model", daemon=True)
        self._thread.start()

    def text_to_motion(self, text: str, frames: int, temperature: float, seed: int | None) -> MotionResultLike:
        """One motion for one prompt (blocking); batched with concurrent prompts of equal settings."""
        key = ("text_to_motion", temperature) if seed is None else object()

        def run(items: list) -> list:
            texts, lengths = [i[0] for i in items], [i[1] for i in items]
            return call_pipeline(self.pipeline.text_to_motion, texts, lengths=lengths, temperature=temperature,
                                 seed=seed)

        return self._submit(_Job(key, run, (text, frames)))

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn()` on the model thread (alone) and return its result or raise its error."""
        return self._submit(_Job(object(), lambda items: [fn()], None))

    def close(self) -> None:
        """Stop the thread after the queued work."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _submit(self, job: _Job) -> Any:
        self._queue.put(job)
        return job.future.result()

    def _loop(self) -> None:
        pending: deque[_Job | None] = deque()  # received while collecting another batch, in order
        while True:
            job = pending.popleft() if pending else self._queue.get()
            if job is None:
                return
            batch = [job] + self._take(pending, job.key)
            if isinstance(job.key, tuple):  # batchable
                self._collect(job.key, batch, pending)
            self._execute(batch)

    def _take(self, pending: deque, key: object) -> list[_Job]:
        """Jobs with `key` already set aside (at most max_batch - 1); the others keep their order."""
        same = [j for j in pending if j is not None and j.key == key][: self.max_batch - 1]
        for job in same:
            pending.remove(job)
        return same

    def _collect(self, key: object, batch: list[_Job], pending: deque) -> None:
        """Add queued jobs with `key` to `batch`, waiting up to window_s; the others go to `pending`."""
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if job is not None and job.key == key:
                batch.append(job)
            else:
                pending.append(job)

    def _execute(self, batch: list[_Job]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = batch[0].run([j.item for j in batch])
        except BaseException as e:  # handed to the waiting request(s)
            if len(batch) > 1:
                for job in batch:
                    self._execute([job])
                return
            batch[0].future.set_exception(e)
            return
        for job, result in zip(batch, results):
            job.future.set_result(result)


# --------------------------------------------------------------------------------------------- the chat

@dataclass
class Reply:
    """One assistant turn: text, optional video, 3D model and files to download, and its motion (if any)."""

    text: str
    video: Path | None = None
    files: list[Path] | None = None
    glb: Path | None = None
    motion: np.ndarray | None = None  # (T, 22, 3): the referent of the next turn
    ok: bool = True


def _failure(text: str) -> Reply:
    return Reply(text, ok=False)


class DemoBackend:
    """The demo's logic without Gradio: a chat turn in, a Reply out (testable without a browser)."""

    def __init__(self, pipeline: Any, settings: DemoSettings = DemoSettings(), store: SessionStore | None = None):
        self.pipeline = pipeline
        self.settings = settings
        self.store = store or SessionStore(settings.session_ttl_s)
        self.conversations = ConversationStore(settings.session_ttl_s)
        self.worker = BatchingWorker(pipeline, settings.max_batch, settings.batch_window_s)
        self._save_lock = threading.Lock()  # the video renderer uses matplotlib's pyplot (not thread-safe)

    @property
    def converses(self) -> bool:
        """True when the pipeline answers whole conversations (`converse`)."""
        return hasattr(self.pipeline, "converse")

    def respond(
        self, message: str, uploads: list[str], session: str, *, task: str = "auto", seconds: float = 4.0,
        temperature: float = T2M_TEMPERATURE, seed: int | None = None,
    ) -> Reply:
        """Answer one chat turn; bad uploads and model failures become a readable reply, never an exception."""
        conversation = self.conversations.get(session)
        try:
            motions = [validate_upload(p, self.settings) for p in uploads]
            last = conversation.last_motion()
            chosen = route(message, len(motions), task, follow_up=last is not None, converse=self.converses)
            given = motions or ([last] if last is not None else [])
            check_inputs(chosen, message, given)
            reply = self._run(chosen, message, given, session, conversation, seconds, temperature, seed)
        except (UploadError, CommandError) as e:
            return _failure(f"Sorry, I can't do that: {e}")
        except Exception:  # the demo must answer; the traceback goes to the server log
            log.exception("demo turn failed: task=%s message=%r", task, message)
            return _failure("Sorry, something went wrong while generating (details are in the server log).")
        if reply.ok:
            conversation.add(ChatTurn("user", message, motions[0] if motions else None),
                             ChatTurn("assistant", reply.text, reply.motion))
        return reply

    def forget(self, session: str) -> None:
        """Drop a session's conversation and files (tab closed or "new conversation")."""
        self.conversations.remove(session)
        self.store.remove(session)

    def _run(
        self, task: str, message: str, motions: list[np.ndarray], session: str, conversation: Conversation,
        seconds: float, temperature: float, seed: int | None,
    ) -> Reply:
        """Call the pipeline for a routed task and save its motion, if any."""
        frames = seconds_to_frames(seconds)
        sampling = {"temperature": temperature, "seed": seed}
        if task == "text to motion":
            result = self.worker.text_to_motion(message, frames, temperature, seed)
            return self._motion_reply(result, session, message, f"Here is a motion for “{message}”.")
        if task == "caption":
            (result,) = self.worker.call(lambda: call_pipeline(self.pipeline.motion_to_text, [motions[0]]))
            return self._text_reply(result)
        if task == "continue":
            prefix = motions[0][-seconds_to_frames(PREFIX_SECONDS):]  # (T', 22, 3): continue from the end
            total = prefix.shape[0] + frames
            (result,) = self.worker.call(lambda: call_pipeline(self.pipeline.predict, [prefix], [total], **sampling))
            return self._motion_reply(result, session, None, "Here is how the motion could continue.")
        if task == "in-between":
            start = motions[0][-seconds_to_frames(PREFIX_SECONDS):]  # end of the first clip
            end = motions[1][: seconds_to_frames(PREFIX_SECONDS)]  # start of the second clip
            total = start.shape[0] + frames + end.shape[0]
            (result,) = self.worker.call(
                lambda: call_pipeline(self.pipeline.inbetween, [start], [end], [total], **sampling))
            return self._motion_reply(result, session, None, "Here is a motion filling the gap.")
        result = self.worker.call(lambda: self._chat(message, motions, conversation, sampling))
        if result.joints is None:
            return self._text_reply(result)
        return self._motion_reply(result, session, result.text, result.text or "Here is a motion.")

    def _chat(self, message: str, motions: list[np.ndarray], conversation: Conversation,
              sampling: dict) -> MotionResultLike:
        """A free chat turn: the whole (bounded) conversation when the pipeline converses, else the message."""
        if self.converses:
            given = motions[0] if motions and motions[0] is not conversation.last_motion() else None
            turns = (conversation.turns + [ChatTurn("user", message, given)])[-MAX_HISTORY_TURNS:]
            return call_pipeline(self.pipeline.converse, turns, **sampling)
        (result,) = call_pipeline(self.pipeline.chat, [message], motions=motions[:1] or None, **sampling)
        return result

    @staticmethod
    def _text_reply(result: MotionResultLike) -> Reply:
        if not result.ok:
            return _failure(f"Sorry, the model could not answer: {result.error or 'no output'}")
        return Reply(result.text or "(the model returned an empty answer)")

    def _motion_reply(self, result: MotionResultLike, session: str, caption: str | None, text: str) -> Reply:
        if not result.ok or result.joints is None:
            return _failure(f"Sorry, the model could not make a motion: {result.error or 'no output'}")
        out_dir = self.store.new_turn_dir(session)
        with self._save_lock:
            saved: SavedMotion = save_motion_outputs(result, out_dir, "motion", caption, video=self.settings.video,
                                                     glb=True)
        seconds = result.joints.shape[0] / FPS
        kinds = ("video", "glb", "bvh", "joints", "features", "json")
        downloads = [saved.files[k] for k in kinds if k in saved.files]
        return Reply(f"{text} ({seconds:.1f} s)", saved.files.get("video"), downloads, saved.files["glb"],
                     np.asarray(result.joints, dtype=np.float32))


# --------------------------------------------------------------------------------------------- the page

def _upload_paths(files: Any) -> list[str]:
    """gr.File(file_count='multiple') value -> file paths (None -> [])."""
    if not files:
        return []
    return [str(getattr(f, "name", f)) for f in files]


def _session(request: gr.Request | None) -> str:
    return request.session_hash if request is not None and request.session_hash else "anonymous"


def _user_text(message: str, uploads: list[str]) -> str:
    text = message.strip() or "(no text)"
    if uploads:
        text += "\n\n📎 " + ", ".join(Path(p).name for p in uploads)
    return text


def build_demo(pipeline: Any, settings: DemoSettings = DemoSettings(), store: SessionStore | None = None):
    """The Gradio Blocks app around a Pipeline (or anything with its methods); `.backend` holds the logic."""
    backend = DemoBackend(pipeline, settings, store)

    def on_submit(message: str, files: Any, history: list, task: str, seconds: float, temperature: float,
                  seed: float | None, request: gr.Request):
        uploads = _upload_paths(files)
        reply = backend.respond(
            message, uploads, _session(request), task=task, seconds=seconds,
            temperature=temperature, seed=None if seed is None or seed < 0 else int(seed),
        )
        reply_text = reply.text
        if reply.glb is not None:
            reply_text += "\n\n▶ The video, the 3D view and the downloads are on the right."
        history = list(history or []) + [{"role": "user", "content": _user_text(message, uploads)},
                                         {"role": "assistant", "content": reply_text}]
        if reply.glb is None:  # a text answer: the last motion stays on show
            return history, gr.skip(), gr.skip(), gr.skip(), ""
        video = str(reply.video) if reply.video else None
        return history, video, str(reply.glb), [str(p) for p in reply.files or []], ""

    def on_new_conversation(request: gr.Request):
        backend.forget(_session(request))
        return [], None, None, None

    def on_unload(request: gr.Request) -> None:
        if request is not None and request.session_hash:
            backend.forget(request.session_hash)

    with gr.Blocks(title="MotionGPT", delete_cache=(600, int(settings.session_ttl_s))) as demo:
        gr.Markdown(
            "# MotionGPT\nDescribe a motion to generate it, then follow up (“now make it slower”, “describe "
            "what you made”, “continue it”), or upload a motion (.bvh / .npy / .json) and ask for a caption "
            "(“what is this?”), a continuation (“continue it”) or, with two files, an in-between (“fill the "
            f"gap”). Uploads up to {settings.max_upload_mb:g} MB and {settings.max_upload_seconds:g} s."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=480, elem_id="chat")
                message = gr.Textbox(label="Message", placeholder="a person waves with the right hand",
                                     elem_id="message", lines=1)
                uploads = gr.File(label="Motion files (optional)", file_count="multiple",
                                  file_types=list(MOTION_SUFFIXES), elem_id="uploads")
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    new = gr.Button("New conversation", elem_id="new")
                gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[message])
            with gr.Column(scale=2):
                video = gr.Video(label="Motion", elem_id="video", autoplay=True, loop=True, interactive=False)
                viewer = gr.Model3D(label="3D view (drag to turn, scroll to zoom)", elem_id="viewer",
                                    clear_color=(0.95, 0.95, 0.95, 1.0), camera_position=(90, 80, 3.5),
                                    interactive=False, height=360)
                downloads = gr.File(label="Downloads (mp4, GLB, BVH, npy, JSON)", elem_id="downloads",
                                    file_count="multiple", interactive=False)
                with gr.Accordion("Settings", open=True):
                    task = gr.Radio(list(TASKS), value="auto", label="Task")
                    seconds = gr.Slider(1, 9.5, value=4, step=0.5, label="Length (seconds)")
                    temperature = gr.Slider(0.1, 2.0, value=T2M_TEMPERATURE, step=0.05, label="Temperature")
                    seed = gr.Number(value=-1, precision=0, label="Seed (-1: random)")
        inputs = [message, uploads, chatbot, task, seconds, temperature, seed]
        outputs = [chatbot, video, viewer, downloads, message]
        send.click(on_submit, inputs, outputs, api_name="generate", concurrency_id="generate")
        message.submit(on_submit, inputs, outputs, concurrency_id="generate", api_visibility="private")
        new.click(on_new_conversation, None, [chatbot, video, viewer, downloads], api_visibility="private")
        demo.unload(on_unload)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    demo.backend = backend
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
    p.add_argument("--max-upload-seconds", type=float, default=MAX_UPLOAD_SECONDS,
                   help=f"upload duration limit in seconds (default: {MAX_UPLOAD_SECONDS:g})")
    p.add_argument("--ttl", type=float, default=SESSION_TTL_S, help="seconds before a session's files are removed")
    p.add_argument("--concurrency", type=int, default=MAX_BATCH,
                   help=f"chat turns handled at once; their model calls are batched (default: {MAX_BATCH})")
    p.add_argument("--max-batch", type=int, default=MAX_BATCH,
                   help=f"text-to-motion prompts per batched model call (default: {MAX_BATCH}; 1: no batching)")
    p.add_argument("--no-video", action="store_true", help="skip the mp4 (the 3D view and downloads remain)")
    return p


def settings_from_args(args: argparse.Namespace) -> DemoSettings:
    """DemoSettings from parsed options (CommandError for values out of range)."""
    if args.concurrency < 1 or args.max_batch < 1 or not 0 < args.port < 65536:
        raise CommandError("--concurrency and --max-batch must be >= 1 and --port in 1..65535")
    if not (args.max_upload_mb > 0 and args.max_upload_seconds > 0):
        raise CommandError("--max-upload-mb and --max-upload-seconds must be positive")
    return DemoSettings(max_upload_mb=args.max_upload_mb, max_upload_seconds=args.max_upload_seconds,
                        session_ttl_s=args.ttl, concurrency=args.concurrency, max_batch=args.max_batch,
                        video=not args.no_video)


def main(argv: list[str]) -> int:
    """`motiongpt demo`: load the model, serve the app until Ctrl-C."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed by argparse
        return int(e.code or 0)
    try:
        settings = settings_from_args(args)
        pipeline = load_pipeline(args.model)
    except CommandError as e:
        print(f"motiongpt demo: error: {e}", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK:
        print(f"warning: serving on {args.host}: anyone who can reach this address can use the demo", file=sys.stderr)
    store = SessionStore(settings.session_ttl_s)
    atexit.register(store.cleanup)
    demo = build_demo(pipeline, settings, store)
    upload_limits = argparse.Namespace(max_seconds=settings.max_upload_seconds, max_file_mb=settings.max_upload_mb)
    with applied_limits(upload_limits):  # every loader refuses longer / larger files before reading them
        demo.launch(server_name=args.host, server_port=args.port, share=False, allowed_paths=[str(store.root)],
                    max_file_size=f"{args.max_upload_mb:g}mb", footer_links=[])
    return 0
