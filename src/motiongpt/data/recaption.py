"""Re-caption a built Bandai dataset in place: `motiongpt data recaption data/bandai`.

Rewrites `texts/<id>.txt` of every original motion listed in `manifest.json` ("motions": take name ->
content/style labels) with the current caption banks (`captions.compose_captions`, seeded by the motion id,
8-12 captions), and `texts/M<id>.txt` of its mirror with left and right swapped. For kick and punch clips the
limb side is read from the joints (`captions.limb_side`) so the caption may name it. Features, joints, splits
and statistics are not touched; every file is written atomically; the result depends only on the motion ids
and the caption code, so running it twice gives the same files. Each distinct sentence is POS-tagged once.

Composed motions (`motiongpt data compose`) take their captions from their parts: run compose after this.

    motiongpt data recaption data/bandai
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from motiongpt.data.bandai import TakeLabel
from motiongpt.data.captions import compose_captions, limb_side, swap_left_right, swap_left_right_tokens, tag_unique
from motiongpt.data.command import data_parser, run_reported
from motiongpt.data.layout import TEXTS_DIR, Caption, MotionDir, mirrored_id
from motiongpt.utils import atomic_write_json, atomic_write_text


@dataclass
class RecaptionReport:
    """What a re-captioning run wrote."""

    motions: int = 0  # original motions re-captioned
    files: int = 0  # caption files written (originals and mirrors)
    captions: int = 0  # caption lines written
    sided: int = 0  # motions whose captions may name the kicking / punching side
    seconds: float = 0.0

    def summary(self, root: Path) -> str:
        """The line `motiongpt data recaption` prints."""
        return (f"{root}: {self.motions} motions, {self.files} files, {self.captions} captions "
                f"({self.captions / max(self.files, 1):.1f} per motion), {self.sided} with a limb side, "
                f"{self.seconds} s")


def read_manifest(root: Path) -> dict:
    """manifest.json of a built dataset, with its "motions" section checked."""
    path = root / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read the manifest ({err})") from None
    if not isinstance(manifest.get("motions"), dict) or not manifest["motions"]:
        raise ValueError(f"{path}: field 'motions' missing or empty (not built by `motiongpt data bandai`)")
    return manifest


def motion_captions(data: MotionDir, motion_id: str, record: dict) -> tuple[list[str], str | None]:
    """Captions of one original motion from its take's labels, and the limb side when the joints show it."""
    label = TakeLabel.parse(record["clip"])
    side = limb_side(label.content, data.joints(motion_id))
    return compose_captions(label.content, label.style, motion_id, side=side), side


def _lines(texts: list[str], tokens: dict[str, tuple[str, ...]], mirror: bool) -> str:
    """The caption file text (mirror: left/right swapped in text and tokens)."""
    if mirror:
        caps = [Caption(swap_left_right(t), swap_left_right_tokens(tokens[t])) for t in texts]
    else:
        caps = [Caption(t, tokens[t]) for t in texts]
    return "".join(c.to_line() + "\n" for c in caps)


def recaption(root: str | Path) -> RecaptionReport:
    """Rewrite the caption files of every motion in `root` (see the module docstring)."""
    start, data = time.time(), MotionDir(root)
    manifest, report = read_manifest(data.root), RecaptionReport()
    texts: dict[str, list[str]] = {}
    for mid, record in manifest["motions"].items():
        texts[mid], side = motion_captions(data, mid, record)
        report.sided += side is not None
    tokens = tag_unique(t for ts in texts.values() for t in ts)
    for mid, mid_texts in texts.items():
        targets = [(mid, False)] + ([(mirrored_id(mid), True)] if data.has_motion(mirrored_id(mid)) else [])
        for target, mirror in targets:
            atomic_write_text(data.root / TEXTS_DIR / f"{target}.txt", _lines(mid_texts, tokens, mirror))
            report.files += 1
            report.captions += len(mid_texts)
    report.motions, report.seconds = len(texts), round(time.time() - start, 1)
    manifest["captions"] = {"recaptioned": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "per_motion": report.captions / max(report.files, 1), "sided_motions": report.sided}
    atomic_write_json(data.root / "manifest.json", manifest)
    return report


def main(argv: list[str] | None = None) -> int:
    """`motiongpt data recaption ROOT`: rewrite the captions, print the counts."""
    parser = data_parser("recaption", __doc__)
    parser.add_argument("root", type=Path, help="dataset built by `motiongpt data bandai`")
    args = parser.parse_args(argv)
    return run_reported("recaption", lambda: recaption(args.root), lambda report: print(report.summary(args.root)))


if __name__ == "__main__":
    sys.exit(main())
