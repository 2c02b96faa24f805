"""Content labels of Bandai motions (from `<root>/manifest.json`), mirrors included, and per-label balancing.

Each original motion's label is the content of its take (`motions[id].clip`, parsed by `bandai.TakeLabel`);
its mirror `M<id>` gets the label with left and right swapped. Motions the manifest does not list (composed
"X, then Y" sequences, custom data) have no label::

    labels = read_motion_labels(MotionDir("data/bandai"))   # {"000123": MotionLabel("walk", "dataset-2"), ...}
    label_of(labels, "M000123")                             # "walk" (mirrors swap walk-left <-> walk-right)
    balanced_repeats(["walk", "walk", "kick"], power=1.0)   # [1, 1, 2]: each label drawn equally often
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from motiongpt.data.bandai import TakeLabel
from motiongpt.data.captions import CONTENTS, swap_left_right
from motiongpt.data.layout import MotionDir

MANIFEST = "manifest.json"
UNLABELLED = "(unlabelled)"  # the balancing group of motions without a manifest label (composed, custom)


@dataclass(frozen=True)
class MotionLabel:
    """Content label of one motion and the Bandai set it comes from ('dataset-1' / 'dataset-2')."""

    label: str
    set: str


def mirror_label(label: str) -> str:
    """The label of the mirrored motion (left <-> right; labels without a side are unchanged)."""
    return swap_left_right(label)


def read_motion_labels(data: MotionDir) -> dict[str, MotionLabel]:
    """Labels of every motion listed in `<root>/manifest.json`, and of its mirror `M<id>`."""
    path = data.root / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (content labels come from a Bandai manifest)")
    try:
        motions = json.loads(path.read_text(encoding="utf-8"))["motions"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: no readable 'motions' table ({type(err).__name__}: {err})") from None
    out: dict[str, MotionLabel] = {}
    for mid, record in motions.items():
        try:
            take = TakeLabel.parse(str(record["clip"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: motions[{mid!r}].clip: {err}") from None
        if take.content not in CONTENTS:
            raise ValueError(f"{path}: motions[{mid!r}].clip: unknown content {take.content!r}")
        out[mid] = MotionLabel(take.content, take.dataset)
        out["M" + mid] = MotionLabel(mirror_label(take.content), take.dataset)
    return out


def label_of(labels: dict[str, MotionLabel], motion_id: str) -> str:
    """Content label of a motion id (mirrors included); KeyError naming the id when it has no entry."""
    if motion_id not in labels:
        raise KeyError(f"motion {motion_id!r} has no manifest entry")
    return labels[motion_id].label


def balanced_repeats(groups: Sequence[str], power: float) -> list[int]:
    """How often each item appears per epoch so that a group of n items is drawn in proportion to n^(1 - power).

    power 0: every item once (groups in proportion to their size); power 1: every group equally often. The
    largest group's items appear once; the others' `round((n_max / n) ** power)` times (at least once).
    """
    if not 0.0 <= power <= 1.0:
        raise ValueError(f"balance power {power} is not in [0, 1]")
    sizes = Counter(groups)
    if not sizes:
        return []
    largest = max(sizes.values())
    return [max(1, round((largest / sizes[g]) ** power)) for g in groups]


def balanced_positions(motion_ids: Sequence[str], labels: dict[str, MotionLabel], power: float) -> list[int]:
    """Index into `motion_ids` per position, each repeated by `balanced_repeats` of its label (motions without a
    label form one group, `UNLABELLED`)."""
    groups = [labels[m].label if m in labels else UNLABELLED for m in motion_ids]
    return [i for i, r in enumerate(balanced_repeats(groups, power)) for _ in range(r)]
