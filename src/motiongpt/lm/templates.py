"""Tasks as data: the phrasings in `templates.json` rendered into LM id sequences.

A `Task` names its group, input/output phrasings and what a sample must provide. `render` fills the text
placeholders (caption, length in frames / seconds), tokenises the text pieces and splices motion-token LM ids
(`<som> m_1 .. m_n <eom>`) directly, so motion never goes through strings. `build_example` turns one training
sample into an (input ids, target ids) pair for a randomly chosen phrasing::

    tasks = load_tasks()                                   # name -> Task
    ex = build_example(tasks["t2m_frames"], LMSample(codes, frames=120, caption="a man waves"), vocab, rng)
    ex.input_ids, ex.target_ids                            # (S,), (L,) LongTensors ending in eos
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

import torch

from motiongpt.lm.vocab import MotionVocab

FPS = 20  # frames per second of HumanML3D-layout motion
CAPTION = "<Caption_Placeholder>"
FRAMES = "<Frame_Placeholder>"
SECONDS = "<Second_Placeholder>"
MOTION = "<Motion_Placeholder>"
PREFIX = "<Motion_Prefix_Placeholder>"
SUFFIX = "<Motion_Suffix_Placeholder>"
REST = "<Motion_Rest_Placeholder>"
MIDDLE = "<Motion_Middle_Placeholder>"
MASKED = "<Masked_Motion_Placeholder>"
MOTION_SLOTS = (MOTION, PREFIX, SUFFIX, REST, MIDDLE, MASKED)
TEXT_SLOTS = (CAPTION, FRAMES, SECONDS)
GROUPS = ("text-to-motion", "motion-to-text", "text-to-text", "motion-to-motion", "pretrain")
PREDICT_FRACTION = 0.2  # motion prediction: the first 20% of the tokens are given
INBETWEEN_FRACTION = 0.25  # in-between: the first and last 25% are given
_SLOT_RE = re.compile("(" + "|".join(re.escape(s) for s in MOTION_SLOTS) + ")")


class TemplateError(ValueError):
    """A template file, task or sample is unusable (the message names the task / field)."""


@dataclass(frozen=True)
class Task:
    """One sub-task: phrasings of the prompt (`inputs`) and of the answer (`outputs`)."""

    name: str
    group: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    needs: frozenset[str] = frozenset({"motion"})  # subset of {"caption", "motion"}

    @property
    def output_is_motion(self) -> bool:
        """True when the answer is a motion (generation is constrained to motion tokens)."""
        return any(slot in self.outputs[0] for slot in MOTION_SLOTS)

    @property
    def min_motion_tokens(self) -> int:
        """Fewest motion tokens a sample needs so that every motion slot is non-empty."""
        return 3 if self.group == "motion-to-motion" else 1


@dataclass
class LMSample:
    """One training item: motion codebook ids, the real length in frames and (optionally) a caption."""

    codes: torch.Tensor  # (N,) long, codebook ids in [0, K)
    frames: int  # length of the real motion in frames (20 fps), not the token count
    caption: str | None = None


@dataclass
class Fields:
    """Values for the placeholders of one rendering (motion slots hold codebook ids)."""

    caption: str | None = None
    frames: int | None = None
    motions: dict[str, torch.Tensor] = field(default_factory=dict)  # slot -> (n,) codebook ids

    def text(self, template: str, where: str) -> str:
        """The template with caption / frames / seconds filled in (motion slots untouched)."""
        if CAPTION in template:
            if not self.caption:
                raise TemplateError(f"{where}: template needs a caption")
            template = template.replace(CAPTION, self.caption.strip().rstrip("."))
        if FRAMES in template or SECONDS in template:
            if self.frames is None:
                raise TemplateError(f"{where}: template needs a length in frames")
            template = template.replace(FRAMES, str(int(self.frames)))
            template = template.replace(SECONDS, format_seconds(self.frames))
        return template


@dataclass
class LMExample:
    """An (input, target) pair of LM ids; both end in eos."""

    input_ids: torch.Tensor  # (S,) long
    target_ids: torch.Tensor  # (L,) long
    task: str = ""


def format_seconds(frames: int) -> str:
    """Seconds of a 20 fps length with one decimal (`120` -> `6.0`)."""
    return f"{frames / FPS:.1f}"


def load_tasks(path: str | Path | None = None) -> dict[str, Task]:
    """Tasks from a template JSON file (default: the packaged `templates.json`), keyed by name."""
    return dict(_load_tasks(str(path) if path is not None else None))


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
    tasks = tuple(_parse_task(entry, f"{where}: task {i}") for i, entry in enumerate(raw))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise TemplateError(f"{where}: duplicate task names in {names}")
    return tuple((t.name, t) for t in tasks)


def _parse_task(entry: Mapping, where: str) -> Task:
    """Validate one JSON task entry."""
    try:
        task = Task(str(entry["name"]), str(entry["group"]), tuple(entry["inputs"]), tuple(entry["outputs"]),
                    frozenset(entry.get("needs", ["motion"])))
    except (KeyError, TypeError) as err:
        raise TemplateError(f"{where}: missing or malformed field {err}") from None
    if task.group not in GROUPS:
        raise TemplateError(f"{where} ({task.name}): unknown group {task.group!r}, expected one of {GROUPS}")
    if not task.inputs or not task.outputs:
        raise TemplateError(f"{where} ({task.name}): needs at least one input and one output phrasing")
    if not task.needs <= {"caption", "motion"}:
        raise TemplateError(f"{where} ({task.name}): 'needs' must be a subset of ['caption', 'motion']")
    return task


def render(template: str, fields: Fields, vocab: MotionVocab, eos: bool = True, where: str = "template"
           ) -> torch.Tensor:
    """LM ids (S,) of a template: text pieces tokenised, motion slots spliced as `<som> ids <eom>`."""
    pieces = _SLOT_RE.split(fields.text(template, where))
    texts = [p for i, p in enumerate(pieces) if i % 2 == 0]
    encoded = iter(vocab.encode_texts([t.strip() for t in texts]))
    parts: list[torch.Tensor] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            ids = next(encoded)
            if piece.strip():
                parts.append(torch.tensor(ids, dtype=torch.long))
            continue
        codes = fields.motions.get(piece)
        if codes is None:
            raise TemplateError(f"{where}: no motion given for slot {piece}")
        parts.append(motion_span(codes, vocab))
    if eos:
        parts.append(torch.tensor([vocab.eos_id]))
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)


def motion_span(codes: torch.Tensor, vocab: MotionVocab) -> torch.Tensor:
    """`<som> m_1 .. m_n <eom>` LM ids (n+2,) of codebook ids (n,); `<mask>` entries (-1) stay masks."""
    codes = torch.as_tensor(codes, dtype=torch.long).flatten()
    masked = codes < 0
    ids = vocab.motion_to_lm(codes.clamp(min=0))
    ids = torch.where(masked, torch.full_like(ids, vocab.mask_id), ids)
    return torch.cat([torch.tensor([vocab.som_id]), ids, torch.tensor([vocab.eom_id])])


def split_predict(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(prefix, rest) of a motion for prediction: the first 20% of the tokens (at least one) are given."""
    n = max(1, min(len(codes) - 1, round(PREDICT_FRACTION * len(codes))))
    return codes[:n], codes[n:]


def split_inbetween(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(start, middle, end) for in-betweening: the first and last 25% (at least one token each) are given."""
    n = max(1, min((len(codes) - 1) // 2, round(INBETWEEN_FRACTION * len(codes))))
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


def sample_fields(task: Task, sample: LMSample, rng: random.Random) -> Fields:
    """Placeholder values of one training sample for `task` (motion slots cut as the task defines)."""
    codes = torch.as_tensor(sample.codes, dtype=torch.long).flatten()
    if "motion" in task.needs and len(codes) < task.min_motion_tokens:
        raise TemplateError(f"task {task.name}: needs >= {task.min_motion_tokens} motion tokens, got {len(codes)}")
    if "caption" in task.needs and not sample.caption:
        raise TemplateError(f"task {task.name}: sample has no caption")
    motions = {MOTION: codes}
    if task.name == "pretrain_span":
        motions[MASKED] = span_mask(codes, rng)
    if task.group == "motion-to-motion":
        prefix, rest = split_predict(codes)
        start, middle, end = split_inbetween(codes)
        if task.name == "m2m_inbetween":
            motions.update({PREFIX: start, MIDDLE: middle, SUFFIX: end})
        else:
            motions.update({PREFIX: prefix, REST: rest})
    return Fields(caption=sample.caption, frames=sample.frames, motions=motions)


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
