"""`motiongpt eval actions`: does the model do the action a caption asks for? Judged by the action recogniser.

    motiongpt eval actions --model checkpoints/default --data data/bandai [--captions dev|test|FILE.json] \
        [--recognizer DIR] [--replications 5] [--seed 0] [--limit N] [--out results/actions_dev.json]

Captions: `dev` (default) is the packaged human-written set (`motiongpt.eval.devsets.load_action_captions`:
free wording, typos, imperatives; every caption asks for one Bandai content label); `test` draws, in each
replication, one random caption of every motion of `--split` (template captions), labelled from the
manifest (mirrors take the mirrored label); a path reads a JSON list of {"text", "label"}.

Per caption and replication (seeded), three rows are recognised by `motiongpt.eval.recognizer`
(`<model>/recognizer`, or `--recognizer DIR`):
- "Real motion": a random real clip of the caption's label from `--split`, re-drawn per replication; a label
  with no clip there falls back to val, then train (listed in the output: the recogniser was trained on the
  train clips, so those labels are easier than they look);
- "Retrieval baseline": the motion of the nearest training caption in all-MiniLM-L6-v2 space
  (`baselines.CaptionRetrieval`), cut to the length below; deterministic, so its interval is 0;
- "Retrieval via tokenizer": the same retrieved motion after the model's VQ-VAE (encode, decode): what copying
  would score if it had to speak through the motion tokens, as the model does (rows without a pipeline
  tokenizer leave it out);
- "Model": `Pipeline.text_to_motion` (batched, sampled with seed `seed * 1000 + rep`); a failed generation
  counts as wrong and in the "failed" column.
Length: the median length (frames, rounded to a multiple of 4) of the label's training clips, the overall
median for labels without one. A fixed length would ask for e.g. 6-second "raise a hand" motions that never
occur in the data, and the recogniser would judge a length mismatch rather than the action. Captions whose
label has no training clip at all (Bandai has no `dance-long` take) cannot be recognised: they are left out and
counted. Metrics: accuracy over captions ("Acc"), its mean over labels ("Macro acc") and per-label accuracy,
each mean ± 1.96 σ/√R over R replications. `--reuse` is ignored: generation is what the replications vary.

`CaptionLabeller` (used by `eval m2t`'s "Caption action acc."): a caption's label is the label of the nearest
training caption in the same MiniLM space.
"""
from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from motiongpt.data.layout import MotionDir, original_id
from motiongpt.eval import metrics as M
from motiongpt.eval.devsets import ActionCaption
from motiongpt.data.labels import MotionLabel, label_of, read_motion_labels
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.eval.runner import EvalOptions, Row, generate_motions, markdown_table, usable

FALLBACK_SPLITS = ("val", "train")
RETRIEVAL, RETRIEVAL_VQ = "Retrieval baseline", "Retrieval via tokenizer"
METHODS = ("Real motion", RETRIEVAL, RETRIEVAL_VQ, "Model")


# ---- scoring -------------------------------------------------------------------------------------------------
def label_accuracy(truth: Sequence[str], pred: Sequence[str | None]) -> dict[str, float]:
    """Accuracy per true label (a None prediction is wrong)."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for t, p in zip(truth, pred):
        hits[t].append(t == p)
    return {label: float(np.mean(h)) for label, h in hits.items()}


def score(truth: Sequence[str], pred: Sequence[str | None]) -> dict[str, float]:
    """"Acc" (share of captions) and "Macro acc" (mean of the per-label accuracies)."""
    if len(truth) != len(pred) or not truth:
        raise ValueError(f"score: {len(truth)} labels and {len(pred)} predictions (need the same, > 0)")
    per_label = label_accuracy(truth, pred)
    acc = float(np.mean([t == p for t, p in zip(truth, pred)]))
    return {"Acc": acc, "Macro acc": float(np.mean(list(per_label.values())))}


@dataclass
class ActionRow(Row):
    """A table row with per-label accuracies per replication as well."""

    per_label: dict[str, list[float]] = field(default_factory=dict)

    def add_scores(self, truth: Sequence[str], pred: Sequence[str | None]) -> None:
        self.add(score(truth, pred))
        for label, acc in label_accuracy(truth, pred).items():
            self.per_label.setdefault(label, []).append(acc)
        self.total += len(truth)

    def label_summary(self) -> dict[str, dict]:
        return {k: dict(zip(("mean", "ci95"), M.mean_ci95(v)), values=v) for k, v in self.per_label.items()}


# ---- captions, lengths, real clips ---------------------------------------------------------------------------
def load_captions(source: str) -> list[ActionCaption]:
    """`dev` (the packaged set) or a JSON file of {"text", "label"} entries."""
    from motiongpt.eval.devsets import load_action_captions

    return load_action_captions(None if source == "dev" else source)


def draw_test_captions(data: MotionDir, split: str, labels: dict[str, MotionLabel],
                       rng: np.random.Generator) -> list[ActionCaption]:
    """One random caption of every labelled motion of `split`, with that motion's label."""
    out = []
    for mid in data.ids(split):
        if original_id(mid) in labels and (data.root / "texts" / f"{mid}.txt").is_file():
            caps = data.captions(mid)
            out.append(ActionCaption(caps[int(rng.integers(len(caps)))].text, label_of(labels, mid)))
    if not out:
        raise ValueError(f"{data.root}: split {split!r} has no labelled, captioned motion")
    return out


def clips_by_label(data: MotionDir, split: str, labels: dict[str, MotionLabel]) -> dict[str, list[str]]:
    """Motion ids of each label in a split (mirrors included)."""
    out: dict[str, list[str]] = defaultdict(list)
    for mid in data.ids(split):
        if original_id(mid) in labels and data.has_motion(mid):
            out[label_of(labels, mid)].append(mid)
    return dict(out)


def median_lengths(train: dict[str, list[str]], data: MotionDir, unit: int = 4) -> dict[str, int]:
    """Median training length (frames, a multiple of `unit`) per label; key "*" = overall median."""
    lengths = {k: [data.features(m).shape[0] for m in ids] for k, ids in train.items()}
    out = {k: int(round(np.median(v) / unit)) * unit for k, v in lengths.items()}
    out["*"] = int(round(np.median([n for v in lengths.values() for n in v]) / unit)) * unit
    return out


class RealClips:
    """Recognised real clips per label: `split` first, then the fallback splits for labels it lacks."""

    def __init__(self, data: MotionDir, split: str, labels: dict[str, MotionLabel], recognizer: ActionRecognizer,
                 wanted: set[str]) -> None:
        self.pools: dict[str, list[str]] = {}
        self.source: dict[str, str] = {}
        for s in (split, *FALLBACK_SPLITS):
            for label, ids in clips_by_label(data, s, labels).items():
                if label in wanted and label not in self.pools:
                    self.pools[label], self.source[label] = ids, s
        ids = [m for pool in self.pools.values() for m in pool]
        pred = recognizer.predict([data.features(m) for m in ids]).names if ids else []
        self.predicted = dict(zip(ids, pred))
        self.fallback = {k: v for k, v in self.source.items() if v != split}

    def draw(self, truth: Sequence[str], rng: np.random.Generator) -> list[str | None]:
        """The recognised label of one random clip of each true label (None when there is none)."""
        return [self.predicted[pool[int(rng.integers(len(pool)))]] if (pool := self.pools.get(t)) else None
                for t in truth]


# ---- the table -----------------------------------------------------------------------------------------------
@dataclass
class ActionsSetup:
    """Everything a run needs besides the pipeline: recogniser, data, labels, lengths, real clips."""

    recognizer: ActionRecognizer
    data: MotionDir
    labels: dict[str, MotionLabel]
    lengths: dict[str, int]
    judgeable: set[str]  # labels with at least one training clip
    real: RealClips | None = None
    retrieval: object | None = None


def build_setup(recognizer: ActionRecognizer, data: MotionDir, split: str, baselines: bool = True) -> ActionsSetup:
    """Labels, per-label lengths, recognised real clips of `split` and the retrieval baseline."""
    labels = read_motion_labels(data)
    train = clips_by_label(data, "train", labels)
    unknown = set(train) - set(recognizer.labels)
    if unknown:
        raise ValueError(f"recogniser has no label {sorted(unknown)[0]!r} (its labels: {', '.join(recognizer.labels)})")
    setup = ActionsSetup(recognizer, data, labels, median_lengths(train, data), set(train))
    setup.real = RealClips(data, split, labels, recognizer, setup.judgeable)
    if baselines:
        from motiongpt.eval.baselines import CaptionRetrieval, TrainPairs

        setup.retrieval = CaptionRetrieval(TrainPairs.load(data))
    return setup


def recognise(recognizer: ActionRecognizer, motions: Sequence[np.ndarray | None]) -> list[str | None]:
    """Recognised labels; None for missing motions."""
    keep = [i for i, m in enumerate(motions) if m is not None]
    names = recognizer.predict([motions[i] for i in keep]).names if keep else []
    out: list[str | None] = [None] * len(motions)
    for i, name in zip(keep, names):
        out[i] = name
    return out


def eval_actions(pipe, setup: ActionsSetup, captions: str, opts: EvalOptions) -> tuple[dict[str, ActionRow], dict]:
    """Rows (Real motion, Retrieval baseline [via tokenizer], Model) and notes (left-out captions, real-clip
    fallbacks)."""
    tokenizer = getattr(pipe, "tokenizer", None)
    skip = set() if setup.retrieval is not None else {RETRIEVAL, RETRIEVAL_VQ}
    rows = {m: ActionRow() for m in METHODS if m not in skip and (m != RETRIEVAL_VQ or tokenizer is not None)}
    fixed = None if captions == "test" else load_captions(captions)
    retrieved: dict[tuple[str, int], tuple[str | None, str | None]] = {}
    left_out: Counter = Counter()
    for rep in range(opts.replications):
        rng = np.random.default_rng(opts.seed * 1000 + rep)
        caps = fixed if fixed is not None else draw_test_captions(setup.data, opts.split, setup.labels, rng)
        left_out = Counter(c.label for c in caps[: opts.limit] if c.label not in setup.judgeable)
        caps = [c for c in caps[: opts.limit] if c.label in setup.judgeable]
        if not caps:
            raise ValueError("no caption has a label the recogniser was trained on")
        texts, truth = [c.text for c in caps], [c.label for c in caps]
        lengths = [setup.lengths.get(t, setup.lengths["*"]) for t in truth]
        _real_row(rows["Real motion"], setup.real, truth, rng)
        if RETRIEVAL in rows:
            raw, via = zip(*_retrieve(setup, texts, lengths, retrieved, tokenizer))
            rows[RETRIEVAL].add_scores(truth, list(raw))
            if RETRIEVAL_VQ in rows:
                rows[RETRIEVAL_VQ].add_scores(truth, list(via))
        results = generate_motions(pipe, texts, lengths, opts, seed=opts.seed * 1000 + rep)
        ok = [usable(r) for r in results]
        rows["Model"].failed += len(ok) - sum(ok)
        rows["Model"].add_scores(truth, recognise(setup.recognizer, [r.features if k else None
                                                                      for r, k in zip(results, ok)]))
    asked = set(rows["Model"].per_label)
    notes = {"left_out": dict(left_out),
             "real_fallback": {k: v for k, v in setup.real.fallback.items() if k in asked}}
    return rows, notes


def _real_row(row: ActionRow, real: RealClips, truth: list[str], rng: np.random.Generator) -> None:
    """Scores of real clips for the captions whose label has one."""
    keep = [t for t in truth if t in real.pools]
    row.add_scores(keep, real.draw(keep, rng))


def _retrieve(setup: ActionsSetup, texts: list[str], lengths: list[int],
              memo: dict[tuple[str, int], tuple[str | None, str | None]], tokenizer=None
              ) -> list[tuple[str | None, str | None]]:
    """Recognised labels of the retrieved motions and of their VQ-VAE reconstructions (None without a
    tokenizer); memoised: retrieval is deterministic."""
    todo = sorted({(t, n) for t, n in zip(texts, lengths)} - set(memo))
    if todo:
        motions = setup.retrieval([t for t, _ in todo], [n for _, n in todo])
        raw = recognise(setup.recognizer, motions)
        via = [None] * len(todo)
        if tokenizer is not None:
            import torch

            from motiongpt.eval.recon import reconstruct

            keep = [i for i, m in enumerate(motions) if m is not None]
            with torch.no_grad():
                recons = reconstruct(tokenizer, [motions[i] for i in keep])[0]
            for i, label in zip(keep, recognise(setup.recognizer, recons)):
                via[i] = label
        memo.update(zip(todo, zip(raw, via)))
    return [memo[(t, n)] for t, n in zip(texts, lengths)]


def label_table(rows: dict[str, ActionRow], counts: Counter) -> str:
    """Markdown: one line per label, accuracy mean ± ci95 per method."""
    lines = ["| Label | captions | " + " | ".join(rows) + " |", "|---" * (len(rows) + 2) + "|"]
    for label in counts:
        cells = ["{:.3f} ± {:.3f}".format(*M.mean_ci95(r.per_label[label])) if r.per_label.get(label) else "–"
                 for r in rows.values()]
        lines.append(f"| {label} | {counts[label]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(title: str, rows: dict[str, ActionRow], notes: dict, counts: Counter) -> str:
    """Overall table, notes and the per-label table."""
    out = [markdown_table(title, rows), ""]
    if notes["left_out"]:
        out.append("Left out (no training clip, the recogniser cannot know the label): "
                   + ", ".join(f"{k} ({v} captions)" for k, v in sorted(notes["left_out"].items())) + ".")
    if notes["real_fallback"]:
        out.append("Real motion drawn from another split for: "
                   + ", ".join(f"{k} ({v})" for k, v in sorted(notes["real_fallback"].items())) + ".")
    out += ["", label_table(rows, counts)]
    return "\n".join(out)


def run_actions(pipe, data: MotionDir, args: argparse.Namespace) -> dict:
    """`motiongpt eval actions`: load the recogniser, evaluate, return the JSON-able result (table printed)."""
    from motiongpt.paths import default_model_dir

    rec_dir = Path(args.recognizer or Path(args.model or default_model_dir()) / "recognizer")
    recognizer = ActionRecognizer.from_pretrained(rec_dir)
    opts = EvalOptions.from_args(args)
    setup = build_setup(recognizer, data, opts.split, opts.baselines)
    rows, notes = eval_actions(pipe, setup, args.captions, opts)
    counts = _caption_counts(args.captions, setup, opts)
    title = f"actions ({args.captions} captions) on {data.root} ({opts.split}, {opts.replications} replications)"
    markdown = render(title, rows, notes, counts)
    print(markdown)
    return {"task": "actions", "captions": args.captions, "model": str(args.model), "data": str(data.root),
            "recognizer": str(rec_dir), "options": vars(opts), "lengths": setup.lengths, **notes,
            "markdown": markdown, "rows": {k: r.summary() for k, r in rows.items()},
            "per_label": {k: r.label_summary() for k, r in rows.items()}}


def _caption_counts(captions: str, setup: ActionsSetup, opts: EvalOptions) -> Counter:
    """Captions per (judged) label in one replication, in CONTENTS order."""
    if captions == "test":
        caps = draw_test_captions(setup.data, opts.split, setup.labels, np.random.default_rng(0))
    else:
        caps = load_captions(captions)
    found = Counter(c.label for c in caps[: opts.limit] if c.label in setup.judgeable)
    return Counter({k: found[k] for k in setup.recognizer.labels if k in found})


# ---- caption -> label (m2t's caption-side action check) ------------------------------------------------------
class CaptionLabeller:
    """A caption's content label = the label of the nearest training caption (MiniLM, as CaptionRetrieval)."""

    def __init__(self, data: MotionDir, split: str = "train") -> None:
        from motiongpt.eval.tmr import sentence_embeddings

        self.labels = read_motion_labels(data)
        votes: dict[str, Counter] = defaultdict(Counter)
        for mid in data.ids(split):
            if original_id(mid) in self.labels and (data.root / "texts" / f"{mid}.txt").is_file():
                for cap in data.captions(mid):
                    votes[cap.text][label_of(self.labels, mid)] += 1
        self.texts = sorted(votes)
        self.text_labels = [votes[t].most_common(1)[0][0] for t in self.texts]
        self._embed = sentence_embeddings
        self.keys = sentence_embeddings(self.texts)  # (K, 384), unique training captions

    def __call__(self, texts: Sequence[str]) -> list[str]:
        """Labels of the captions."""
        from motiongpt.eval.baselines import _nearest

        idx = _nearest(self._embed(list(texts)), self.keys)
        return [self.text_labels[i] for i in idx]

    def accuracy(self, texts: Sequence[str], motion_ids: Sequence[str]) -> float:
        """Share of captions whose label is the label of the motion they describe."""
        return float(np.mean([p == label_of(self.labels, m) for p, m in zip(self(texts), motion_ids)]))
