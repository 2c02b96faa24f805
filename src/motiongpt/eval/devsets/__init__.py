"""Hand-written evaluation sets of human text: does the model understand how real people ask for motion?

EVALUATION ONLY. These sets must NEVER be used for training, for writing or choosing training phrasings
(captions, task templates, chat prompts) or for tuning anything that is later reported on them; otherwise
they stop measuring generalisation to human wording.

- `actions_dev.json`: captions written one by one by hand, each asking for exactly one Bandai content action
  (`label` = a key of `motiongpt.data.captions.CONTENTS`; left/right = the performer's own side). The wording
  differs on purpose from what the caption templates write: other verbs and word orders, synonyms, irrelevant
  detail, first person and imperatives, typos, very short and long sentences, mixed case.
- `chat_dev.json`: chat messages as users type them to a motion chatbot. `kind` is the output the user wants:
  "motion" (generate a motion, or continue an attached one) or "text" (describe an attached motion);
  `needs_motion` is true when the message refers to an attached motion; `label` is the action label of a
  motion-generation request (null for describe and continue requests).

Usage::

    from motiongpt.eval.devsets import load_action_captions, load_chat_set
    captions = load_action_captions()          # packaged file; or load_action_captions("my.json")
    chat = load_chat_set()

A malformed file raises ValueError naming the file, the entry index and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from motiongpt.data.captions import CONTENTS

ACTIONS_FILE = "actions_dev.json"
CHAT_FILE = "chat_dev.json"
CHAT_KINDS = ("motion", "text")
LABELS = tuple(CONTENTS)

_ACTION_FIELDS: dict[str, tuple[type, ...]] = {"text": (str,), "label": (str,)}
_CHAT_FIELDS: dict[str, tuple[type, ...]] = {
    "text": (str,), "kind": (str,), "label": (str, type(None)), "needs_motion": (bool,),
}


@dataclass(frozen=True)
class ActionCaption:
    """One human-written caption and the Bandai content label it asks for."""

    text: str
    label: str


@dataclass(frozen=True)
class ChatMessage:
    """One chat message: the output kind wanted, the action label (generation only), attached-motion flag."""

    text: str
    kind: str
    label: str | None
    needs_motion: bool


def load_action_captions(path: str | Path | None = None) -> list[ActionCaption]:
    """Action captions from `path` (default: the packaged `actions_dev.json`)."""
    where, entries = _read_entries(path, ACTIONS_FILE)
    return [ActionCaption(**_checked(entry, _ACTION_FIELDS, f"{where}: entry {i}")) for i, entry in enumerate(entries)]


def load_chat_set(path: str | Path | None = None) -> list[ChatMessage]:
    """Chat messages from `path` (default: the packaged `chat_dev.json`)."""
    where, entries = _read_entries(path, CHAT_FILE)
    return [ChatMessage(**_checked(entry, _CHAT_FIELDS, f"{where}: entry {i}")) for i, entry in enumerate(entries)]


def _read_entries(path: str | Path | None, packaged: str) -> tuple[str, list[Any]]:
    """(name for errors, JSON list) of `path`, or of the packaged file when `path` is None."""
    if path is None:
        where = f"motiongpt/eval/devsets/{packaged}"
        text = resources.files(__package__).joinpath(packaged).read_text(encoding="utf-8")
    else:
        where, text = str(path), Path(path).read_text(encoding="utf-8")
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{where}: expected a JSON list of objects, got {type(entries).__name__}")
    return where, entries


def _checked(entry: Any, spec: dict[str, tuple[type, ...]], where: str) -> dict[str, Any]:
    """The entry's fields after checking names, types, a non-empty text and known label/kind values."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(entry).__name__}")
    extra = sorted(set(entry) - set(spec))
    if extra:
        raise ValueError(f"{where}: field {extra[0]!r}: unexpected field (expected {', '.join(spec)})")
    for name, types in spec.items():
        _check_type(entry, name, types, where)
    if not entry["text"].strip():
        raise ValueError(f"{where}: field 'text': empty text")
    _check_choice(entry["label"], LABELS, "label", where)
    _check_choice(entry.get("kind"), CHAT_KINDS, "kind", where)
    return dict(entry)


def _check_type(entry: dict[str, Any], name: str, types: tuple[type, ...], where: str) -> None:
    """Raise unless `entry[name]` exists and is one of `types`."""
    if name not in entry:
        raise ValueError(f"{where}: field {name!r}: missing")
    if not isinstance(entry[name], types):
        wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise ValueError(f"{where}: field {name!r}: expected {wanted}, got {type(entry[name]).__name__}")


def _check_choice(value: str | None, allowed: tuple[str, ...], name: str, where: str) -> None:
    """Raise when a present (non-null) `value` is not one of `allowed`."""
    if value is not None and value not in allowed:
        raise ValueError(f"{where}: field {name!r}: unknown value {value!r} (known: {', '.join(allowed)})")
