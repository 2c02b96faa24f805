"""Tasks as data: the declarations in `templates.json` and how they become LM id sequences.

A `Task` declares everything about one sub-task: its input / output phrasings, the training stages that use it,
its output mode (`text` | `motion` | `chat`, which is also the decoding grammar at inference) and the name of
a *cut* function (`CUTS`) that cuts a training example's placeholder values from one motion (whole motion,
prefix + rest, prefix + middle + suffix with the end clip's root offset, masked spans ...). A new task is one
JSON entry, plus `@register_cut("name")` when it needs a new way of cutting a motion.

`render` fills the text placeholders (caption, length, end-clip offset) and splices motion-token LM ids
(`<som> m_1 .. m_n <eom>`) directly, so motion never goes through strings. `build_example` turns one training
sample into an (input ids, target ids) pair for a randomly chosen phrasing::

    tasks = load_tasks()                                   # name -> Task
    ex = build_example(tasks["t2m_frames"], LMSample(codes, frames=120, caption="a man waves"), vocab, rng)
    ex.input_ids, ex.target_ids                            # (S,), (L,) LongTensors ending in eos
    stage_tasks("instruct")                                # names of the tasks the instruct stage trains
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from motiongpt.lm.generation import MODES
from motiongpt.lm.vocab import MotionVocab
from motiongpt.motion.trajectory import RootOffset, root_offset

FPS = 20  # frames per second of HumanML3D-layout motion
FRAMES_PER_TOKEN = 4  # motion tokenizer downsampling (frames of one motion token)
CAPTION = "<Caption_Placeholder>"
FRAMES = "<Frame_Placeholder>"
SECONDS = "<Second_Placeholder>"
OFFSET = "<End_Offset_Placeholder>"
OTHER_CAPTION = "<Other_Caption_Placeholder>"
MOTION = "<Motion_Placeholder>"
PREFIX = "<Motion_Prefix_Placeholder>"
SUFFIX = "<Motion_Suffix_Placeholder>"
REST = "<Motion_Rest_Placeholder>"
MIDDLE = "<Motion_Middle_Placeholder>"
MASKED = "<Masked_Motion_Placeholder>"
OTHER_MOTION = "<Other_Motion_Placeholder>"
CONVERSATION = "<Conversation_Placeholder>"
MOTION_SLOTS = (MOTION, PREFIX, SUFFIX, REST, MIDDLE, MASKED, OTHER_MOTION)
TEXT_SLOTS = (CAPTION, FRAMES, SECONDS, OFFSET, OTHER_CAPTION)
USER, ASSISTANT = "User:", "Assistant:"  # role labels of multi-turn prompts (training phrasings use the same)
GROUPS = ("text-to-motion", "motion-to-text", "text-to-text", "motion-to-motion", "pretrain", "chat")
STAGES = ("pretrain", "instruct")
NEEDS = ("caption", "motion", "track", "other")
PREDICT_FRACTION = 0.2  # motion prediction: the first 20% of the tokens are given (default split)
INBETWEEN_FRACTION = 0.25  # in-between: the first and last 25% are given (default split)
PREDICT_RANGE = (0.15, 0.4)  # training draws the given fraction from these ranges, so any split at inference
INBETWEEN_RANGE = (0.15, 0.3)  # (e.g. the evaluation's 20%) is one the model has seen
_SLOT_RE = re.compile("(" + "|".join(re.escape(s) for s in MOTION_SLOTS + (CONVERSATION,)) + ")")
_ANY_RE = re.compile("|".join(re.escape(s) for s in MOTION_SLOTS + TEXT_SLOTS + (CONVERSATION,)))


class TemplateError(ValueError):
    """A template file, task or sample is unusable (the message names the task / field)."""


@dataclass
class LMSample:
    """One training item: motion codebook ids, the real length in frames, caption, root track, a second motion."""

    codes: torch.Tensor  # (N,) long, codebook ids in [0, K)
    frames: int  # length of the real motion in frames (20 fps), not the token count
    caption: str | None = None
    track: np.ndarray | None = None  # (frames, 3) root x, z, yaw (`motion.trajectory.root_track`)
    other: "LMSample | None" = None  # another motion of the split, for follow-up turns


@dataclass(frozen=True)
class Turn:
    """One conversation turn as rendered: role ("user" | "assistant"), text and optional codebook ids."""

    role: str
    text: str
    codes: torch.Tensor | None = None


@dataclass
class Fields:
    """Values for the placeholders of one rendering (motion slots hold codebook ids)."""

    caption: str | None = None
    frames: int | None = None
    motions: dict[str, torch.Tensor] = field(default_factory=dict)  # slot -> (n,) codebook ids
    offset: RootOffset | None = None  # end clip seen from the start clip (in-between)
    other_caption: str | None = None
    turns: tuple[Turn, ...] = ()  # fills <Conversation_Placeholder>

    def available(self) -> set[str]:
        """Placeholders this rendering can fill."""
        have = set(self.motions)
        values = {CAPTION: self.caption, FRAMES: self.frames, SECONDS: self.frames, OFFSET: self.offset,
                  OTHER_CAPTION: self.other_caption, CONVERSATION: self.turns or None}
        return have | {k for k, v in values.items() if v is not None and v != ""}

    def missing(self, template: str) -> list[str]:
        """Placeholders of `template` this rendering cannot fill."""
        have = self.available()
        return [p for p in _ANY_RE.findall(template) if p not in have]

    def text(self, template: str, where: str) -> str:
        """The template with the text placeholders filled in (motion slots untouched)."""
        for slot in self.missing(template):
            if slot not in MOTION_SLOTS:
                raise TemplateError(f"{where}: template needs a value for {slot}")
        fills = {CAPTION: lambda: _clean(self.caption), FRAMES: lambda: str(int(self.frames)),
                 SECONDS: lambda: format_seconds(self.frames), OFFSET: lambda: offset_text(self.offset),
                 OTHER_CAPTION: lambda: _clean(self.other_caption)}
        for slot, value in fills.items():
            if slot in template:
                template = template.replace(slot, value())
        return template


def _clean(caption: str | None) -> str:
    return (caption or "").strip().rstrip(".")


@dataclass
class LMExample:
    """An (input, target) pair of LM ids; both end in eos."""

    input_ids: torch.Tensor  # (S,) long
    target_ids: torch.Tensor  # (L,) long
    task: str = ""


# --- cut functions ---------------------------------------------------------------------------------------------
CutFn = Callable[[LMSample, random.Random], Fields]


@dataclass(frozen=True)
class Cut:
    """How a training example is cut from one motion, and how a generated part fits back into a whole motion.

    `whole`: motion slots whose concatenation is the complete motion (the generated slot among them);
    `anchor`: (given slot, slot after the gap): the decoded given part is aligned to the given motion's end
    pose, and an end-clip offset refers to last frame of the first -> first frame of the second.
    """

    name: str
    fn: CutFn
    min_tokens: int = 1
    whole: tuple[str, ...] = (MOTION,)
    anchor: tuple[str, str] | None = None


CUTS: dict[str, Cut] = {}


def register_cut(name: str, min_tokens: int = 1, whole: tuple[str, ...] = (MOTION,),
                 anchor: tuple[str, str] | None = None) -> Callable[[CutFn], CutFn]:
    """Decorator: register `fn(sample, rng) -> Fields` as cut function `name`."""
    def wrap(fn: CutFn) -> CutFn:
        CUTS[name] = Cut(name, fn, min_tokens, whole, anchor)
        return fn
    return wrap


def base_fields(sample: LMSample, motions: dict[str, torch.Tensor]) -> Fields:
    """Fields with the sample's caption, length and second motion (+ the given motion slots)."""
    other = sample.other
    if other is not None:
        motions = {**motions, OTHER_MOTION: _codes(other)}
    return Fields(caption=sample.caption, frames=sample.frames, motions={MOTION: _codes(sample), **motions},
                  other_caption=other.caption if other is not None else None)


def _codes(sample: LMSample) -> torch.Tensor:
    return torch.as_tensor(sample.codes, dtype=torch.long).flatten()


@register_cut("whole")
def cut_whole(sample: LMSample, rng: random.Random) -> Fields:
    """The whole motion."""
    return base_fields(sample, {})


@register_cut("masked_span")
def cut_masked_span(sample: LMSample, rng: random.Random) -> Fields:
    """The whole motion and a copy with random spans masked (T5-style corruption)."""
    return base_fields(sample, {MASKED: span_mask(_codes(sample), rng)})


@register_cut("prefix_rest", min_tokens=3, whole=(PREFIX, REST), anchor=(PREFIX, REST))
def cut_prefix_rest(sample: LMSample, rng: random.Random) -> Fields:
    """The first 15-40% of the tokens and the rest (prediction)."""
    prefix, rest = split_predict(_codes(sample), rng.uniform(*PREDICT_RANGE))
    return base_fields(sample, {PREFIX: prefix, REST: rest})


@register_cut("prefix_middle_suffix", min_tokens=3, whole=(PREFIX, MIDDLE, SUFFIX), anchor=(PREFIX, SUFFIX))
def cut_prefix_middle_suffix(sample: LMSample, rng: random.Random) -> Fields:
    """The first and last 15-30% and the middle (in-between), with the end clip's offset when the track is known."""
    start, middle, end = split_inbetween(_codes(sample), rng.uniform(*INBETWEEN_RANGE))
    fields = base_fields(sample, {PREFIX: start, MIDDLE: middle, SUFFIX: end})
    fields.offset = seam_offset(sample.track, len(start), len(start) + len(middle))
    return fields


def seam_offset(track: np.ndarray | None, given_tokens: int, end_token: int) -> RootOffset | None:
    """Offset of the first frame of token `end_token` from the last frame of the first `given_tokens` tokens."""
    if track is None:
        return None
    a, b = given_tokens * FRAMES_PER_TOKEN - 1, end_token * FRAMES_PER_TOKEN
    return root_offset(track, a, b) if b < len(track) else None


# --- tasks -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One sub-task: phrasings of the prompt (`inputs`) and of the answer (`outputs`), and how it is trained."""

    name: str
    group: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    needs: frozenset[str] = frozenset({"motion"})  # subset of NEEDS
    stages: tuple[str, ...] = ("instruct",)
    output: str = "motion"  # generation mode: text | motion | chat
    cut: str = "whole"
    weight: float = 1.0  # relative frequency among the tasks of a stage

    @property
    def output_is_motion(self) -> bool:
        """True when the answer phrasings hold a motion."""
        return any(slot in self.outputs[0] for slot in MOTION_SLOTS)

    @property
    def reads_caption_only(self) -> bool:
        """True when the caption is an input and never part of the answer (so it may be rephrased in training)."""
        return any(CAPTION in p for p in self.inputs) and not any(CAPTION in p for p in self.outputs)

    @property
    def output_slot(self) -> str | None:
        """The motion slot the answer generates (None for text answers)."""
        return next((s for s in MOTION_SLOTS if s in self.outputs[0]), None)

    @property
    def cutter(self) -> Cut:
        return CUTS[self.cut]

    @property
    def min_motion_tokens(self) -> int:
        """Fewest motion tokens a sample needs so that every motion slot is non-empty."""
        return self.cutter.min_tokens

    def serves(self, sample: LMSample) -> bool:
        """Whether `sample` has everything this task needs."""
        return not self.unmet(sample)

    def unmet(self, sample: LMSample) -> str:
        """Why `sample` cannot serve this task ('' when it can)."""
        if "motion" in self.needs and len(sample.codes) < self.min_motion_tokens:
            return f"needs >= {self.min_motion_tokens} motion tokens, got {len(sample.codes)}"
        have = {"caption": bool(sample.caption), "track": sample.track is not None,
                "other": sample.other is not None and bool(sample.other.caption)}
        lacking = [k for k, ok in have.items() if k in self.needs and not ok]
        return f"sample has no {lacking[0]}" if lacking else ""


def format_seconds(frames: int) -> str:
    """Seconds of a 20 fps length with one decimal (`120` -> `6.0`)."""
    return f"{frames / FPS:.1f}"


def offset_text(offset: RootOffset) -> str:
    """`the end clip starts 1.8 m ahead, 0.3 m to the left, facing 90 degrees left` (0.1 m / 15 degree steps)."""
    r = offset.rounded()
    ahead = f"{abs(r.ahead):.1f} m {'ahead' if r.ahead >= 0 else 'behind'}"
    left = f"{abs(r.left):.1f} m to the {'left' if r.left >= 0 else 'right'}"
    turn = f"facing {abs(r.turn):.0f} degrees {'left' if r.turn >= 0 else 'right'}"
    return f"the end clip starts {ahead}, {left}, {turn}"


def load_tasks(path: str | Path | None = None) -> dict[str, Task]:
    """Tasks from a template JSON file (default: the packaged `templates.json`), keyed by name."""
    return dict(_load_tasks(str(path) if path is not None else None))


def stage_tasks(stage: str, tasks: Mapping[str, Task] | None = None) -> tuple[str, ...]:
    """Names of the tasks declared for training stage `stage`, in declaration order."""
    if stage not in STAGES:
        raise TemplateError(f"unknown stage {stage!r}, expected one of {STAGES}")
    tasks = tasks if tasks is not None else load_tasks()
    return tuple(name for name, t in tasks.items() if stage in t.stages)


@lru_cache(maxsize=4)
def _load_tasks(path: str | None) -> tuple[tuple[str, Task], ...]:
    if path is None:
        text = resources.files("motiongpt.lm").joinpath("templates.json").read_text(encoding="utf-8")
        where = "motiongpt/lm/templates.json"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        raw = json.loads(text)["tasks"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise TemplateError(f"{where}: expected a JSON object with a 'tasks' list ({err})") from None
    tasks = tuple(parse_task(entry, f"{where}: task {i}") for i, entry in enumerate(raw))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise TemplateError(f"{where}: duplicate task names in {names}")
    return tuple((t.name, t) for t in tasks)


def _derived_needs(inputs: Sequence[str], outputs: Sequence[str]) -> set[str]:
    """Needs implied by the placeholders of the phrasings."""
    text = " ".join([*inputs, *outputs])
    implied = {"caption": CAPTION in text, "track": OFFSET in text,
               "other": OTHER_MOTION in text or OTHER_CAPTION in text}
    return {k for k, used in implied.items() if used}


def parse_task(entry: Mapping, where: str) -> Task:
    """Validate one task declaration (a JSON object)."""
    try:
        inputs, outputs = tuple(entry["inputs"]), tuple(entry["outputs"])
        needs = frozenset(entry.get("needs", ["motion"])) | _derived_needs(inputs, outputs)
        answers_motion = bool(outputs) and any(slot in outputs[0] for slot in MOTION_SLOTS)
        task = Task(str(entry["name"]), str(entry["group"]), inputs, outputs, needs,
                    tuple(entry.get("stages", ["instruct"])),
                    str(entry.get("output", "motion" if answers_motion else "text")),
                    str(entry.get("cut", "whole")), float(entry.get("weight", 1.0)))
    except (KeyError, TypeError, ValueError) as err:
        raise TemplateError(f"{where}: missing or malformed field {err}") from None
    _check_task(task, where)
    return task


def _check_task(task: Task, where: str) -> None:
    """Raise TemplateError naming the field of an inconsistent declaration."""
    name = f"{where} ({task.name})"
    problems = [
        (task.group not in GROUPS, f"unknown group {task.group!r}, expected one of {GROUPS}"),
        (not task.inputs or not task.outputs, "needs at least one input and one output phrasing"),
        (not task.needs <= set(NEEDS), f"'needs' must be a subset of {list(NEEDS)}"),
        (not set(task.stages) <= set(STAGES), f"'stages' must be a subset of {list(STAGES)}"),
        (task.output not in MODES, f"'output' must be one of {MODES}"),
        (task.cut not in CUTS, f"'cut': unknown cut {task.cut!r}, registered: {sorted(CUTS)}"),
        (task.weight <= 0, "'weight' must be positive"),
    ]
    for bad, message in problems:
        if bad:
            raise TemplateError(f"{name}: {message}")


# --- rendering -------------------------------------------------------------------------------------------------
def render(template: str, fields: Fields, vocab: MotionVocab, eos: bool = True, where: str = "template"
           ) -> torch.Tensor:
    """LM ids (S,) of a template: text pieces tokenised, motion slots spliced as `<som> ids <eom>`."""
    pieces: list[str | torch.Tensor] = []
    for i, piece in enumerate(_SLOT_RE.split(fields.text(template, where))):
        if i % 2 == 0:
            pieces.append(piece)
        elif piece == CONVERSATION:
            pieces += conversation_pieces(fields.turns)
        elif piece in fields.motions:
            pieces.append(fields.motions[piece])
        else:
            raise TemplateError(f"{where}: no motion given for slot {piece}")
    return render_pieces(pieces, vocab, eos)


def render_pieces(pieces: Sequence[str | torch.Tensor], vocab: MotionVocab, eos: bool = True) -> torch.Tensor:
    """LM ids of text pieces (adjacent ones joined, each stripped) and codebook-id pieces (motion spans)."""
    merged: list[str | torch.Tensor] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] = f"{merged[-1].strip()} {piece.strip()}"
        else:
            merged.append(piece)
    texts = [p.strip() for p in merged if isinstance(p, str)]
    encoded = iter(vocab.encode_texts(texts))
    parts: list[torch.Tensor] = []
    for piece in merged:
        if not isinstance(piece, str):
            parts.append(motion_span(piece, vocab))
            continue
        ids = next(encoded)
        if piece.strip():
            parts.append(torch.tensor(ids, dtype=torch.long))
    if eos:
        parts.append(torch.tensor([vocab.eos_id]))
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)


def conversation_pieces(turns: Sequence[Turn]) -> list[str | torch.Tensor]:
    """Pieces of a conversation: one turn is its bare text; several are `User: .. Assistant: ..` labelled.

    A turn's motion goes where its text says `<Motion_Placeholder>`, else after the text.
    """
    pieces: list[str | torch.Tensor] = []
    for turn in turns:
        label = (USER if turn.role == "user" else ASSISTANT) + " " if len(turns) > 1 else ""
        before, _, after = turn.text.partition(MOTION)
        pieces.append(label + before)
        if turn.codes is not None:
            pieces.append(turn.codes)
        pieces.append(after)
    return pieces


def motion_span(codes: torch.Tensor, vocab: MotionVocab) -> torch.Tensor:
    """`<som> m_1 .. m_n <eom>` LM ids (n+2,) of codebook ids (n,); `<mask>` entries (-1) stay masks."""
    codes = torch.as_tensor(codes, dtype=torch.long).flatten()
    masked = codes < 0
    ids = vocab.motion_to_lm(codes.clamp(min=0))
    ids = torch.where(masked, torch.full_like(ids, vocab.mask_id), ids)
    return torch.cat([torch.tensor([vocab.som_id]), ids, torch.tensor([vocab.eom_id])])


# --- motion splits ---------------------------------------------------------------------------------------------
def split_predict(codes: torch.Tensor, fraction: float = PREDICT_FRACTION) -> tuple[torch.Tensor, torch.Tensor]:
    """(prefix, rest) of a motion for prediction: the first `fraction` of the tokens (at least one) are given."""
    n = max(1, min(len(codes) - 1, round(fraction * len(codes))))
    return codes[:n], codes[n:]


def split_inbetween(codes: torch.Tensor, fraction: float = INBETWEEN_FRACTION
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(start, middle, end) for in-betweening: the first and last `fraction` (at least one token each) are given."""
    n = max(1, min((len(codes) - 1) // 2, round(fraction * len(codes))))
    return codes[:n], codes[n:len(codes) - n], codes[len(codes) - n:]


def span_mask(codes: torch.Tensor, rng: random.Random, ratio: float = 0.15, mean_span: float = 3.0
              ) -> torch.Tensor:
    """Codes with random spans collapsed into one -1 (`<mask>`) entry each (T5-style corruption)."""
    n = len(codes)
    n_mask = max(1, round(ratio * n))
    n_spans = max(1, round(n_mask / mean_span))
    starts = sorted(rng.sample(range(n), min(n_spans, n)))
    out: list[int] = []
    i = 0
    for s in starts:
        if s < i:
            continue
        out.extend(codes[i:s].tolist())
        out.append(-1)
        i = min(n, s + max(1, round(rng.expovariate(1.0 / mean_span))))
    out.extend(codes[i:].tolist())
    return torch.tensor(out, dtype=torch.long)


# --- examples --------------------------------------------------------------------------------------------------
def sample_fields(task: Task, sample: LMSample, rng: random.Random) -> Fields:
    """Placeholder values of one training sample for `task`, cut by the task's cut function."""
    problem = task.unmet(sample)
    if problem:
        raise TemplateError(f"task {task.name}: {problem}")
    return task.cutter.fn(sample, rng)


def build_example(task: Task, sample: LMSample, vocab: MotionVocab, rng: random.Random,
                  phrasing: int | None = None) -> LMExample:
    """(input, target) LM ids of `sample` for `task` with a random (or the given) input phrasing."""
    fields = sample_fields(task, sample, rng)
    src = task.inputs[phrasing] if phrasing is not None else rng.choice(task.inputs)
    tgt = rng.choice(task.outputs)
    where = f"task {task.name}"
    return LMExample(render(src, fields, vocab, where=where), render(tgt, fields, vocab, where=where), task.name)


def tasks_for(names: Sequence[str], tasks: Mapping[str, Task] | None = None) -> list[Task]:
    """Tasks by name, with an error listing the known names for a typo."""
    tasks = tasks if tasks is not None else load_tasks()
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise TemplateError(f"unknown task(s) {unknown}; known: {sorted(tasks)}")
    return [tasks[n] for n in names]


def select_task(candidates: Sequence[str], fields: Fields, tasks: Mapping[str, Task] | None = None) -> Task:
    """The first candidate task whose canonical (first) input phrasing `fields` can fill."""
    chosen = tasks_for(candidates, tasks)
    for task in chosen:
        if not fields.missing(task.inputs[0]):
            return task
    raise TemplateError(f"none of the tasks {list(candidates)} can be rendered with the given fields "
                        f"(missing {chosen[-1].name}: {fields.missing(chosen[-1].inputs[0])})")
