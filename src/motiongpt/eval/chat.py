"""`motiongpt eval chat`: does a chat message without task words get the right kind of answer, and the action?

    motiongpt eval chat --model checkpoints/default --data data/bandai [--recognizer DIR] [--split test] \
        [--seed 0] [--batch-size 32] [--out results/chat.json]

Messages come from the human-written chat set (`motiongpt.eval.devsets.load_chat_set`): each has the output
kind it expects (`text` | `motion`), the action label asked for or shown (or None) and whether it comes with a
motion. A message that comes with a motion gets a random `--split` motion of its label (seeded; any motion of
the split when it has no label). Every message is one single-turn conversation (`Pipeline.chat`, batched,
greedy: the same prompt `Pipeline.converse` renders for one turn). The reply's kind is `motion` when it holds
a motion, else `text` when it holds text, else `none` (a failed or empty reply).

Metrics: the share of replies of the right kind (all messages, and per expected kind); for messages that ask
for a motion with a label, the action recogniser's (`motiongpt.eval.recognizer`, `<model>/recognizer` or
`--recognizer DIR`) accuracy over the motion replies ("Action acc. (motion replies)") and over all of those
messages, a reply of the wrong kind counting as wrong ("Action acc. (all)"). Without a recogniser both are None.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from motiongpt.data.layout import MotionDir

KINDS = ("text", "motion")


def reply_kind(result) -> str:
    """`motion` | `text` | `none` of one `MotionResult` reply."""
    if result.ok and result.features is not None:
        return "motion"
    if result.ok and (result.text or "").strip():
        return "text"
    return "none"


def attach_motions(messages: Sequence, ids_by_label: dict[str, list[str]], load: Callable[[str], np.ndarray],
                   rng: np.random.Generator) -> list[np.ndarray | None]:
    """A motion (raw features) for each message that needs one: a random motion of its label, else of any."""
    every = sorted(m for ids in ids_by_label.values() for m in ids)
    out: list[np.ndarray | None] = []
    for msg in messages:
        if not msg.needs_motion:
            out.append(None)
            continue
        pool = ids_by_label.get(msg.label) or every
        if not pool:
            raise ValueError("chat set: a message needs a motion but the split has none")
        out.append(load(pool[int(rng.integers(len(pool)))]))
    return out


def chat_replies(pipe, messages: Sequence, motions: Sequence[np.ndarray | None], batch_size: int, seed: int
                 ) -> list:
    """One greedy single-turn reply per message, in batches."""
    replies = []
    for s in range(0, len(messages), batch_size):
        chunk = slice(s, s + batch_size)
        replies += pipe.chat([m.text for m in messages[chunk]], motions=list(motions[chunk]), seed=seed + s)
    return replies


def score_chat(messages: Sequence, replies: Sequence, recognizer=None) -> dict[str, float | int | None]:
    """Right-kind shares and action accuracies (None without a recogniser) of replies to the messages."""
    kinds = [reply_kind(r) for r in replies]
    right = [k == m.kind for k, m in zip(kinds, messages)]
    scores: dict[str, float | int | None] = {"messages": len(messages), "Right kind": _share(right)}
    for kind in KINDS:
        scores[f"Right kind ({kind})"] = _share([r for r, m in zip(right, messages) if m.kind == kind])
    asked = [i for i, m in enumerate(messages) if m.kind == "motion" and m.label]
    made = [i for i in asked if kinds[i] == "motion"]
    scores.update({"motion requests with a label": len(asked), "motion replies": len(made),
                   "Action acc. (motion replies)": None, "Action acc. (all)": None})
    if recognizer is not None and made:
        names = recognizer.predict([replies[i].features for i in made]).names
        hits = sum(n == messages[i].label for n, i in zip(names, made))
        scores["Action acc. (motion replies)"] = hits / len(made)
        scores["Action acc. (all)"] = hits / len(asked)
    return scores


def _share(flags: Sequence[bool]) -> float | None:
    return float(np.mean(flags)) if len(flags) else None


def markdown_table(title: str, scores: dict) -> str:
    """A one-row markdown table of the scores (None shown as `–`)."""
    keys = list(scores)
    cells = ["–" if scores[k] is None else f"{scores[k]:.3f}" if isinstance(scores[k], float) else str(scores[k])
             for k in keys]
    return "\n".join([f"### {title}", "", "| " + " | ".join(keys) + " |", "|---" * len(keys) + "|",
                      "| " + " | ".join(cells) + " |"])


def _ids_by_label(data: MotionDir, split: str) -> dict[str, list[str]]:
    """Motion ids of `split` grouped by content label (from the dataset's manifest)."""
    from motiongpt.data.labels import read_motion_labels

    labels = read_motion_labels(data)
    out: dict[str, list[str]] = defaultdict(list)
    for mid in data.ids(split):
        if mid in labels and data.has_motion(mid):
            out[labels[mid].label].append(mid)
    return dict(out)


def _recognizer(args: argparse.Namespace):
    """The action recogniser of `--recognizer` or `<model>/recognizer`, None when there is none."""
    from motiongpt.eval.recognizer import ActionRecognizer
    from motiongpt.paths import default_model_dir

    rec_dir = Path(args.recognizer or Path(args.model or default_model_dir()) / "recognizer")
    return (ActionRecognizer.from_pretrained(rec_dir), rec_dir) if rec_dir.is_dir() else (None, rec_dir)


def run_chat(pipe, data: MotionDir, args: argparse.Namespace) -> dict:
    """`motiongpt eval chat`: attach motions, reply, score; returns the JSON-able result (table printed)."""
    from motiongpt.eval.devsets import load_chat_set

    messages = load_chat_set()[: args.limit]
    motions = attach_motions(messages, _ids_by_label(data, args.split), data.features,
                             np.random.default_rng(args.seed))
    replies = chat_replies(pipe, messages, motions, args.batch_size, args.seed * 1000)
    recognizer, rec_dir = _recognizer(args)
    scores = score_chat(messages, replies, recognizer)
    note = "" if recognizer is not None else f" (no recogniser at {rec_dir}: action accuracy not measured)"
    markdown = markdown_table(f"chat on the chat set ({args.split} motions attached){note}", scores)
    print(markdown)
    return {"task": "chat", "model": str(args.model), "data": str(data.root), "recognizer": str(rec_dir)
            if recognizer is not None else None, "markdown": markdown, "scores": scores,
            "replies": [{"kind": reply_kind(r), "expected": m.kind, "label": m.label} for r, m in
                        zip(replies, messages)]}
