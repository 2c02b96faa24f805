"""Composed sequences: join 2-3 train clips into one motion captioned "X, then Y": `motiongpt data compose`.

    motiongpt data compose data/bandai --count 3000 --seed 0

Each composed motion `C<5 digits>` joins two or three clips of the train split (originals or mirrors, with
different content labels), each cropped to 40-90 frames so the whole is at most 196 frames. Consecutive parts
overlap by `blend` frames (default 10) in which the 263-d features are cross-faded with smoothstep weights;
the root is velocity-coded (rotation velocity, local xz velocity), so the trajectory stays continuous and
nothing else is re-derived, except the binary foot-contact channels, which are rounded back to 0/1.
Joints come from `features_to_joints`. Captions join one caption of each part (taken from the part's
texts/<id>.txt, so mirrored parts already have left/right swapped) in varied ways ("X, then Y", "X and then
Y", "first X, after that Y", "X before Y-ing", "after X-ing, Y", "X, followed by Y-ing", "..., and finally
Z"), naming the subject once (later possessives follow it).

Written into the dataset folder: new_joint_vecs/, new_joints/, texts/ (atomic per file), the split list
`train_composed.txt` (train.txt is untouched, so evaluation does not change) and the manifest section
"composed" (parts, crop ranges, labels). Every motion depends only on (seed, index) and the train split, so
re-running gives the same files; composed files of an earlier, larger run are removed.
"""
from __future__ import annotations

import hashlib
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from motiongpt.data.bandai import TakeLabel
from motiongpt.data.captions import CONTENTS, PLAIN_SUBJECTS, REFLEXIVE, STYLES, Subject, progressive, tag_unique
from motiongpt.data.command import data_parser, run_reported
from motiongpt.data.layout import FEATURES_DIR, JOINTS_DIR, TEXTS_DIR, Caption, MotionDir, original_id
from motiongpt.data.recaption import read_manifest
from motiongpt.utils import atomic_save_npy, atomic_write_json, atomic_write_text

PREFIX = "C"
SPLIT_NAME = "train_composed"
MAX_FRAMES = 196  # HumanML3D max_motion_length
_ID_RE = re.compile(rf"^{PREFIX}\d{{5}}$")
_POSSESSIVES = re.compile(r"\b(his|her|their)\b")
_REFLEXIVES = re.compile(r"\b(himself|herself|themselves)\b")
_IRREGULAR_BASE = {"goes": "go", "does": "do", "has": "have", "is": "be"}


@dataclass(frozen=True)
class ComposeConfig:
    """How composed motions are drawn."""

    count: int = 3000
    seed: int = 0
    split: str = "train"
    min_part: int = 40  # frames per part
    max_part: int = 90
    max_frames: int = MAX_FRAMES
    blend: int = 10  # cross-faded frames at each seam
    three_parts: float = 0.35  # probability of three parts instead of two
    captions: tuple[int, int] = (6, 10)


@dataclass(frozen=True)
class Part:
    """One cropped clip of a composed motion: frames [first, last) of `motion_id`."""

    motion_id: str
    first: int
    last: int
    content: str
    style: str


@dataclass(frozen=True)
class Clip:
    """A clip that may be used as a part."""

    motion_id: str
    frames: int
    content: str
    style: str


# ---- features -----------------------------------------------------------------------------------------------

def smoothstep_weights(blend: int) -> np.ndarray:
    """(blend,) weights of the incoming clip, strictly between 0 and 1, smoothstep-shaped."""
    t = np.arange(1, blend + 1, dtype=np.float32) / (blend + 1)
    return t * t * (3 - 2 * t)


def join_features(parts: list[np.ndarray], blend: int) -> np.ndarray:
    """(sum L - (n-1) blend, D): parts cross-faded over `blend` overlapping frames at every seam."""
    from motiongpt.motion.features import layout_for_dim

    out = parts[0].astype(np.float32)
    w = smoothstep_weights(blend)[:, None]
    for nxt in parts[1:]:
        seam = (1 - w) * out[-blend:] + w * nxt[:blend]
        out = np.concatenate([out[:-blend], seam, nxt[blend:]]).astype(np.float32)
    contact = layout_for_dim(out.shape[1]).foot_contact
    out[:, contact] = (out[:, contact] > 0.5).astype(np.float32)
    return out


# ---- planning -----------------------------------------------------------------------------------------------

def _rng(seed: int, index: int) -> random.Random:
    """The random stream of composed motion `index` (independent of the count)."""
    return random.Random(int.from_bytes(hashlib.sha256(f"compose|{seed}|{index}".encode()).digest()[:8], "big"))


def load_clips(data: MotionDir, manifest: dict, cfg: ComposeConfig) -> list[Clip]:
    """Clips of the split long enough to be a part, with their labels from the manifest."""
    clips = []
    for mid in sorted(data.ids(cfg.split)):
        frames = int(np.load(data.root / FEATURES_DIR / f"{mid}.npy", mmap_mode="r").shape[0])
        record = manifest["motions"].get(original_id(mid))
        if record is None:
            raise ValueError(f"{data.root / 'manifest.json'}: field 'motions' has no entry for {original_id(mid)}")
        if frames >= cfg.min_part:
            label = TakeLabel.parse(record["clip"])
            clips.append(Clip(mid, frames, label.content, label.style))
    if len({c.content for c in clips}) < 3:
        raise ValueError(f"{data.root}: split {cfg.split!r} needs clips of at least 3 contents to compose")
    return clips


def plan_parts(clips: list[Clip], cfg: ComposeConfig, rng: random.Random) -> list[Part]:
    """Two or three clips of different contents, cropped so the joined motion fits `max_frames`."""
    n = 3 if rng.random() < cfg.three_parts else 2
    cap = min(cfg.max_part, (cfg.max_frames + (n - 1) * cfg.blend) // n)
    chosen: list[Clip] = []
    while len(chosen) < n:
        clip = rng.choice(clips)
        if all(clip.content != c.content for c in chosen):
            chosen.append(clip)
    parts = []
    for clip in chosen:
        length = rng.randint(cfg.min_part, min(cap, clip.frames))
        first = rng.randint(0, clip.frames - length)
        parts.append(Part(clip.motion_id, first, first + length, clip.content, clip.style))
    return parts


# ---- captions -----------------------------------------------------------------------------------------------

def _all_subjects() -> list[Subject]:
    """Every subject the caption banks use, longest first (so 'a manly figure' wins over 'a man')."""
    subjects = set(PLAIN_SUBJECTS) | {s for style in STYLES.values() for s in style.subjects}
    return sorted(subjects, key=lambda s: -len(s[0]))


def _known_verbs() -> dict[str, str]:
    """Third-person forms of the banks' verbs -> base form ('walks' -> 'walk')."""
    from motiongpt.data.captions import third_person

    verbs = {}
    for bank in CONTENTS.values():
        for phrase in bank.actions + bank.sided:
            words = phrase.split(" ")
            for word in [words[0]] + [w[1:] for w in words[1:] if w.startswith("^")]:
                verb = re.sub(r"[^a-z]", "", word)
                verbs[third_person(verb)] = verb
    return verbs


SUBJECTS = _all_subjects()
VERBS = _known_verbs()


def split_subject(text: str) -> tuple[Subject, str] | None:
    """('a man', 'his'), 'walks forward' from 'a man walks forward.'; None when it does not open with a subject."""
    for subject in SUBJECTS:
        if text.startswith(subject[0] + " "):
            return subject, text[len(subject[0]) + 1:].rstrip(".").strip()
    return None


def _reinflect(predicate: str, forms: dict[str, str]) -> str:
    """Replace the first verb (after leading -ly adverbs) and verbs after 'and'/'then' via `forms`."""
    out, expect_verb = [], True
    for word in predicate.split(" "):
        bare = word.rstrip(",")
        if expect_verb and bare in forms:
            word = forms[bare] + word[len(bare):]
            expect_verb = False
        elif expect_verb and not bare.endswith("ly"):
            expect_verb = False
        out.append(word)
        expect_verb = expect_verb or bare in ("and", "then")
    return " ".join(out)


def gerund(predicate: str) -> str:
    """'walks forward and turns left' -> 'walking forward and turning left'; 'is running' -> 'running'."""
    if predicate.startswith("is "):
        return predicate[3:]
    return _reinflect(predicate, {third: progressive(base) for third, base in VERBS.items()})


def simple_present(predicate: str) -> str:
    """'is calmly walking forward and turning left' -> 'calmly walks forward and turns left'."""
    if not predicate.startswith("is "):
        return predicate
    return _reinflect(predicate[3:], {progressive(base): third for third, base in VERBS.items()})


def _follow(predicate: str, subject: Subject) -> str:
    """A later part's predicate with its possessives and reflexives made to agree with the one subject."""
    poss = subject[1]
    return _REFLEXIVES.sub(REFLEXIVE[poss], _POSSESSIVES.sub(poss, predicate))


TWO_PART = (
    "{S} {p0}, then {p1}.", "{S} {p0} and then {p1}.", "{S} {p0}, and then {p1}.", "first {S} {p0}, after that {p1}.",
    "{S} first {p0}, and after that {p1}.", "{S} {p0} before {g1}.", "{S} {p0}, followed by {g1}.",
    "after {g0}, {S} {p1}.", "{S} {p0}, and afterwards {p1}.", "{S} {p0}; after that, {S2} {p1}.",
)
THREE_PART = (
    "{S} {p0}, then {p1}, then {p2}.", "{S} {p0}, then {p1}, and finally {p2}.",
    "first {S} {p0}, then {p1}, and after that {p2}.", "{S} {p0}, {p1}, and then {p2}.",
    "after {g0}, {S} {p1} and then {p2}.", "{S} {p0} and then {p1} before {g2}.",
)
_PRONOUN = {"his": "he", "her": "she"}


def join_caption(subject: Subject, predicates: list[str], rng: random.Random) -> str:
    """One sentence naming `subject` once and the parts' predicates in order."""
    templates = TWO_PART if len(predicates) == 2 else THREE_PART
    if predicates[0].startswith("is "):
        templates = tuple(t for t in templates if "{S} first" not in t)
    if subject[1] not in _PRONOUN:
        templates = tuple(t for t in templates if "{S2}" not in t)
    values = {"S": subject[0], "S2": _PRONOUN.get(subject[1], "")}
    for i, pred in enumerate(predicates):
        pred = pred if i == 0 else simple_present(_follow(pred, subject))
        values[f"p{i}"], values[f"g{i}"] = pred, gerund(pred)
    return re.sub(r"\s+", " ", rng.choice(templates).format(**values)).strip()


def _pick(options: list[tuple[Subject, str]], rng: random.Random) -> tuple[Subject, str]:
    """A random option; half of the time the shorter of two (people describe sequences tersely)."""
    first, second = rng.choice(options), rng.choice(options)
    return min(first, second, key=lambda o: len(o[1])) if rng.random() < 0.5 else first


def compose_caption_texts(part_captions: list[list[str]], rng: random.Random, want: int) -> list[str]:
    """Up to `want` distinct "X, then Y" captions from the parts' own captions (subject-first ones; the one
    subject is a plain one such as "a man" when the first part has any, since a styled subject would claim
    its style for the whole sequence)."""
    usable = [[s for s in (split_subject(c.lower()) for c in caps) if s] for caps in part_captions]
    if not all(usable):
        return []
    plain = set(PLAIN_SUBJECTS)
    usable[0] = [s for s in usable[0] if s[0] in plain] or usable[0]
    out: list[str] = []
    for _ in range(20 * want):
        chosen = [_pick(u, rng) for u in usable]
        text = join_caption(chosen[0][0], [pred for _, pred in chosen], rng)
        if text not in out:
            out.append(text)
        if len(out) == want:
            break
    return out


# ---- writing ------------------------------------------------------------------------------------------------

@dataclass
class Composed:
    """One composed motion: its parts, features and caption texts."""

    motion_id: str
    parts: list[Part]
    features: np.ndarray
    texts: list[str]


def compose_one(data: MotionDir, clips: list[Clip], cfg: ComposeConfig, index: int) -> Composed:
    """Composed motion number `index` (parts redrawn until every part has a subject-first caption)."""
    rng = _rng(cfg.seed, index)
    for _ in range(100):
        parts = plan_parts(clips, cfg, rng)
        captions = [[c.text for c in data.captions(p.motion_id)] for p in parts]
        texts = compose_caption_texts(captions, rng, rng.randint(*cfg.captions))
        if texts:
            break
    else:
        raise ValueError(f"{data.root / TEXTS_DIR}: captions rarely open with a known subject ('a man ...'): "
                         "cannot compose (run `motiongpt data recaption` first)")
    feats = join_features([data.features(p.motion_id)[p.first:p.last] for p in parts], cfg.blend)
    return Composed(f"{PREFIX}{index:05d}", parts, feats, texts)


def _remove_stale(root: Path, keep: set[str]) -> int:
    """Delete composed files (C<5 digits>) that the current plan does not contain; how many motions."""
    stale = {p.stem for p in (root / FEATURES_DIR).glob(f"{PREFIX}*.npy") if _ID_RE.match(p.stem)} - keep
    for mid in stale:
        for sub, ext in ((FEATURES_DIR, "npy"), (JOINTS_DIR, "npy"), (TEXTS_DIR, "txt")):
            (root / sub / f"{mid}.{ext}").unlink(missing_ok=True)
    return len(stale)


def write_composed(root: Path, items: list[Composed]) -> None:
    """Features, joints and caption files of the composed motions (each atomically)."""
    from motiongpt.motion.features import features_to_joints

    tokens = tag_unique(t for item in items for t in item.texts)
    for item in items:
        atomic_save_npy(root / FEATURES_DIR / f"{item.motion_id}.npy", item.features)
        atomic_save_npy(root / JOINTS_DIR / f"{item.motion_id}.npy",
                        np.asarray(features_to_joints(item.features), dtype=np.float32))
        lines = "".join(Caption(t, tokens[t]).to_line() + "\n" for t in item.texts)
        atomic_write_text(root / TEXTS_DIR / f"{item.motion_id}.txt", lines)


@dataclass
class ComposeReport:
    """What a compose run made."""

    motions: int
    three_part: int
    frames_mean: float
    captions_mean: float
    removed: int
    seconds: float

    def summary(self, root: Path) -> str:
        """The line `motiongpt data compose` prints."""
        return (f"{root}: {self.motions} composed motions ({self.three_part} of three parts), "
                f"{self.frames_mean} frames and {self.captions_mean} captions on average, "
                f"{self.removed} stale removed, {self.seconds} s -> {SPLIT_NAME}.txt")


def compose_dataset(root: str | Path, cfg: ComposeConfig) -> ComposeReport:
    """Compose `cfg.count` motions into the dataset at `root` (see the module docstring)."""
    start, data = time.time(), MotionDir(root)
    manifest = read_manifest(data.root)
    clips = load_clips(data, manifest, cfg)
    items = [compose_one(data, clips, cfg, i) for i in range(cfg.count)]
    removed = _remove_stale(data.root, {item.motion_id for item in items})
    write_composed(data.root, items)
    atomic_write_text(data.root / f"{SPLIT_NAME}.txt", "".join(f"{item.motion_id}\n" for item in items))
    manifest["composed"] = {
        "config": asdict(cfg), "split_file": f"{SPLIT_NAME}.txt",
        "motions": {item.motion_id: {"num_frames": int(item.features.shape[0]),
                                     "parts": [asdict(p) for p in item.parts]} for item in items},
    }
    atomic_write_json(data.root / "manifest.json", manifest)
    return ComposeReport(len(items), sum(len(i.parts) == 3 for i in items),
                         round(float(np.mean([len(i.features) for i in items])), 1),
                         round(float(np.mean([len(i.texts) for i in items])), 2), removed,
                         round(time.time() - start, 1))


def main(argv: list[str] | None = None) -> int:
    """`motiongpt data compose ROOT --count N --seed S`: write the composed motions, print the counts."""
    parser = data_parser("compose", __doc__)
    parser.add_argument("root", type=Path, help="dataset built by `motiongpt data bandai`")
    parser.add_argument("--count", type=int, default=ComposeConfig.count, help="composed motions to write")
    parser.add_argument("--seed", type=int, default=ComposeConfig.seed)
    parser.add_argument("--blend", type=int, default=ComposeConfig.blend, help="cross-faded frames per seam")
    args = parser.parse_args(argv)
    cfg = ComposeConfig(count=args.count, seed=args.seed, blend=args.blend)
    return run_reported("compose", lambda: compose_dataset(args.root, cfg),
                        lambda report: print(report.summary(args.root)))


if __name__ == "__main__":
    sys.exit(main())
