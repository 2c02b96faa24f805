"""`motiongpt eval t2m|m2t|pred|inbetween|recon|actions`: paper-style evaluation tables with 95% confidence intervals.

    motiongpt eval t2m --model checkpoints/default --data data/bandai --evaluator runs/evaluator/export/best \
        [--split test] [--replications 20] [--limit N] [--out results.json] [--reuse]

Protocol (HumanML3D, Guo et al. 2022): each replication draws one random caption and a random crop (a multiple
of 4 frames) per test motion, shuffles, generates, embeds with the evaluator and computes the metrics; the
table shows mean ± 1.96 std / sqrt(R). Rows: "Real motion", a retrieval baseline (t2m: nearest training caption
by MiniLM -> its motion; m2t: nearest training motion by evaluator embedding -> its caption; pred: hold the
last given pose; inbetween: linear interpolation and a velocity-matched Hermite root path with blended pose)
and the model; pred/inbetween also report the seam jump (joint velocity jump at the seams, m/s). Samples the
model fails to produce (`ok=False`) are counted in a "failed" column and left out of the metrics. `--reuse`
generates once and reuses the generations in every replication (only pools and pairs are re-drawn); the default
regenerates per replication like the original; under `--reuse` the real items' evaluator embeddings are computed
once too (the same numbers, less time). m2t on data with Bandai labels (manifest.json) also reports "Caption action
acc.": the share of captions whose nearest training caption (MiniLM) has the label of the described motion.
`actions` (`motiongpt.eval.actions`, `--captions dev|test|FILE`, `--recognizer DIR`) scores generated motions
with the action recogniser; `chat` (`motiongpt.eval.chat`) scores replies to the chat set (right output kind,
action accuracy). The JSON (written atomically) holds every per-replication value.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from motiongpt.argtypes import int_in, positive, temperature
from motiongpt.data.datasets import TextMotionDataset, TextMotionSample
from motiongpt.data.layout import MotionDir
from motiongpt.eval import metrics as M
from motiongpt.eval.baselines import (COMPLETION_BASELINES, CaptionRetrieval, MotionRetrieval, TrainPairs,
                                      encode_motions)
from motiongpt.motion.features import joints_to_features
from motiongpt.motion.trajectory import root_offset, root_track, seam_jump
from motiongpt.progress import progress
from motiongpt.utils import atomic_write_json

log = logging.getLogger(__name__)
TASKS = ("t2m", "m2t", "pred", "inbetween", "recon", "actions", "chat")
LOWER_IS_BETTER = {"FID", "MM-Dist", "ADE", "FDE", "failed"}


@dataclass
class EvalOptions:
    """Protocol settings shared by the tasks."""

    split: str = "test"
    replications: int = 20
    limit: int | None = None
    batch_size: int = 32
    seed: int = 0
    reuse: bool = False
    diversity_times: int = 300
    mm_texts: int = 100  # MultiModality: texts, generations per text, pairs per text
    mm_repeats: int = 30
    mm_times: int = 10
    prefix_ratio: float = 0.2  # pred: given fraction; inbetween: given fraction at each end
    baselines: bool = True
    cache_real: bool = True  # --reuse: embed the (unchanging) real items once; the numbers are the same
    temperature: float | None = None  # t2m / actions / pred / inbetween sampling (None: the per-task default)
    top_k: int | None = None
    fade: int | None = None  # pred / inbetween seam fade in frames (None: the pipeline's default)
    guidance: float | None = None  # t2m / actions classifier-free guidance scale (None: the pipeline's default)
    candidates: int | None = None  # m2t captions reranked per motion (None: the pipeline's default)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EvalOptions:
        """The options of a parsed `motiongpt eval` command line (`build_parser`)."""
        return cls(split=args.split, replications=args.replications, limit=args.limit, batch_size=args.batch_size,
                   seed=args.seed, reuse=args.reuse, mm_texts=args.mm_texts, mm_repeats=args.mm_repeats,
                   mm_times=args.mm_times, baselines=not args.no_baselines, temperature=args.temperature,
                   top_k=args.top_k, fade=args.fade, guidance=args.guidance, candidates=args.candidates)

    def m2t_kwargs(self) -> dict:
        """Keyword arguments of `Pipeline.motion_to_text` set here (the rest keep the pipeline's defaults)."""
        return _set_only(candidates=self.candidates)

    def t2m_kwargs(self) -> dict:
        """Keyword arguments of `Pipeline.text_to_motion` set here."""
        return _set_only(guidance=self.guidance, temperature=self.temperature, top_k=self.top_k)

    def completion_kwargs(self) -> dict:
        """Keyword arguments of `Pipeline.predict` / `inbetween` set here."""
        return _set_only(temperature=self.temperature, top_k=self.top_k, fade=self.fade)


def _set_only(**values) -> dict:
    """The keyword arguments that are not None."""
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class Row:
    """One table row: per-replication values of each metric, and failed / total sample counts."""

    values: dict[str, list[float]] = field(default_factory=dict)
    failed: int = 0
    total: int = 0

    def add(self, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.values.setdefault(k, []).append(float(v))

    def summary(self) -> dict:
        out = {k: dict(zip(("mean", "ci95"), M.mean_ci95(v)), values=v) for k, v in self.values.items()}
        return {"metrics": out, "failed": self.failed, "total": self.total}


# ---- drawing the evaluation items ----------------------------------------------------------------------------
def draw_items(dataset: TextMotionDataset, rep: int, opts: EvalOptions) -> list[TextMotionSample]:
    """Replication `rep`'s items: a seeded shuffle of the split, one random caption/crop each, `limit` kept."""
    dataset.generator.manual_seed(opts.seed * 1000 + rep)
    order = np.random.default_rng(opts.seed * 1000 + rep).permutation(len(dataset))[: opts.limit]
    return [dataset[int(i)] for i in order]


REFERENCE_OFFSET = 10**4  # replication offset of the independent real draw that FIDs are measured against


def reference_embeddings(evaluator, dataset: TextMotionDataset, rep: int, opts: EvalOptions) -> np.ndarray:
    """Motion embeddings (N, E) of an independent real draw (other captions/crops), the FID reference: as in
    the original, where the ground-truth statistics come from a separate pass over the test loader."""
    ref = draw_items(dataset, REFERENCE_OFFSET + rep, opts)
    return encode_motions(evaluator, [s.features.numpy() for s in ref], opts.batch_size).numpy()


def memo(cache: dict | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()`, kept in `cache[key]` and reused when `cache` is given (None: computed every time)."""
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _batches(n: int, size: int, desc: str):
    return progress(range(0, n, size), desc=desc)


def embed_texts(evaluator, items: Sequence[TextMotionSample], batch_size: int) -> np.ndarray:
    """(N, E) evaluator text embeddings (dataset `word/POS` tokens used when present)."""
    out = []
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        tokens = [s.tokens for s in chunk] if all(s.tokens for s in chunk) else None
        out.append(evaluator.encode_text([s.text for s in chunk], tokens))
    return torch.cat(out).cpu().numpy()


def usable(result, min_frames: int = 4) -> bool:
    """A generated motion the metrics can use: ok, features present, at least `min_frames` finite frames."""
    f = getattr(result, "features", None)
    return bool(result.ok and f is not None and f.ndim == 2 and f.shape[0] >= min_frames and np.isfinite(f).all())


def motion_metrics(text_emb: np.ndarray, motion_emb: np.ndarray, ref_emb: np.ndarray, opts: EvalOptions,
                   rng: np.random.Generator) -> dict[str, float]:
    """R-Precision top-1/2/3, FID (vs the real reference draw), MM-Dist and Diversity of paired embeddings."""
    n = len(text_emb)
    top = M.r_precision(text_emb, motion_emb, 3, pool=min(M.R_PRECISION_POOL, n))
    return {"R@1": top[0], "R@2": top[1], "R@3": top[2], "FID": M.fid(ref_emb, motion_emb),
            "MM-Dist": M.mm_dist(text_emb, motion_emb),
            "Diversity": M.diversity(motion_emb, min(opts.diversity_times, n), rng)}


def caption_labeller(data: MotionDir):
    """m2t's caption -> content label (`actions.CaptionLabeller`) when the data has Bandai labels, else None."""
    if not (data.root / "manifest.json").is_file():
        return None
    from motiongpt.eval.actions import CaptionLabeller

    try:
        return CaptionLabeller(data)
    except (ValueError, KeyError) as err:
        log.warning("no caption action check: %s", err)
        return None


def _keep(mask: Sequence[bool], *arrays: np.ndarray) -> list[np.ndarray]:
    m = np.asarray(mask, dtype=bool)
    return [a[m] for a in arrays]


# ---- text-to-motion ------------------------------------------------------------------------------------------
def generate_motions(pipe, texts: Sequence[str], lengths: Sequence[int], opts: EvalOptions, seed: int,
                     num_samples: int = 1) -> list:
    """Batched `pipe.text_to_motion` with a progress bar (results text-major)."""
    out = []
    for s in _batches(len(texts), opts.batch_size, "generate"):
        out += pipe.text_to_motion(list(texts[s:s + opts.batch_size]), lengths=list(lengths[s:s + opts.batch_size]),
                                   num_samples=num_samples, seed=seed + s, **opts.t2m_kwargs())
    return out


def eval_t2m(pipe, evaluator, data: MotionDir, opts: EvalOptions) -> dict[str, Row]:
    """Text-to-motion table rows (Real motion, Retrieval baseline, Model)."""
    dataset = TextMotionDataset(data, opts.split)
    rows = {"Real motion": Row(), "Retrieval baseline": Row(), "Model": Row()}
    baseline = CaptionRetrieval(TrainPairs.load(data)) if opts.baselines else None
    if baseline is None:
        rows.pop("Retrieval baseline")
    cached, real_cache = None, ({} if opts.reuse and opts.cache_real else None)
    for rep in progress(range(opts.replications), desc="replications"):
        rng = np.random.default_rng(opts.seed * 1000 + rep)
        items = draw_items(dataset, 0 if opts.reuse else rep, opts)
        texts, lengths = [s.text for s in items], [s.features.shape[0] for s in items]
        if opts.reuse and cached is not None:
            results = cached
        else:
            results = generate_motions(pipe, texts, lengths, opts, seed=opts.seed * 1000 + rep)
            cached = results
        perm = rng.permutation(len(items)) if opts.reuse else np.arange(len(items))  # re-pool reused items
        text_emb = memo(real_cache, "text", lambda: embed_texts(evaluator, items, opts.batch_size))[perm]
        real_emb = memo(real_cache, "motion", lambda: encode_motions(
            evaluator, [s.features.numpy() for s in items], opts.batch_size).numpy())[perm]
        items, results = [items[i] for i in perm], [results[i] for i in perm]
        ref_emb = reference_embeddings(evaluator, dataset, rep, opts)
        rows["Real motion"].add(motion_metrics(text_emb, real_emb, ref_emb, opts, rng))
        rows["Real motion"].total += len(items)
        if baseline is not None:
            base = baseline([s.text for s in items], [s.features.shape[0] for s in items])
            base_emb = encode_motions(evaluator, base, opts.batch_size).numpy()
            rows["Retrieval baseline"].add(motion_metrics(text_emb, base_emb, ref_emb, opts, rng))
            rows["Retrieval baseline"].total += len(items)
        ok = [usable(r) for r in results]
        rows["Model"].failed += len(ok) - sum(ok)
        rows["Model"].total += len(ok)
        if sum(ok) < 2:
            log.warning("replication %d: only %d usable generations; metrics skipped", rep, sum(ok))
            continue
        gen_emb = encode_motions(evaluator, [r.features for r, k in zip(results, ok) if k], opts.batch_size).numpy()
        t_ok, = _keep(ok, text_emb)
        rows["Model"].add(motion_metrics(t_ok, gen_emb, ref_emb, opts, rng))
        if opts.mm_texts > 0:
            rows["Model"].add({"MModality": multimodality_once(pipe, evaluator, items, opts, rep, rng)})
    return rows


def multimodality_once(pipe, evaluator, items: Sequence[TextMotionSample], opts: EvalOptions, rep: int,
                       rng: np.random.Generator) -> float:
    """MultiModality: `mm_repeats` generations for each of the first `mm_texts` texts (failed ones dropped)."""
    sub = items[: opts.mm_texts]
    texts, lengths = [s.text for s in sub], [s.features.shape[0] for s in sub]
    results = generate_motions(pipe, texts, lengths, opts, seed=10**6 + rep, num_samples=opts.mm_repeats)
    per_text = []
    for i in range(len(sub)):
        mine = [r.features for r in results[i * opts.mm_repeats:(i + 1) * opts.mm_repeats] if usable(r)]
        if len(mine) >= opts.mm_times:  # texts with too few usable generations are left out
            emb = encode_motions(evaluator, mine, opts.batch_size).numpy()  # (R_i, E)
            per_text.append(M.multimodality(emb[None], opts.mm_times, rng))
    return float(np.mean(per_text)) if per_text else float("nan")


# ---- motion-to-text ------------------------------------------------------------------------------------------
def eval_m2t(pipe, evaluator, data: MotionDir, opts: EvalOptions, bert=None) -> dict[str, Row]:
    """Motion-to-text rows: caption metrics vs all references, R-Precision / MM-Dist of the generated captions."""
    from motiongpt.eval.text_metrics import caption_metrics

    dataset = TextMotionDataset(data, opts.split)
    rows = {"Real motion": Row(), "Retrieval baseline": Row(), "Model": Row()}
    baseline = MotionRetrieval(TrainPairs.load(data), evaluator) if opts.baselines else None
    if baseline is None:
        rows.pop("Retrieval baseline")
    cached: dict[str, list] = {}
    caps_cache: dict[str, dict[str, float]] = {}
    real_cache = {} if opts.reuse and opts.cache_real else None
    labeller = caption_labeller(data)
    for rep in progress(range(opts.replications), desc="replications"):
        items = draw_items(dataset, 0 if opts.reuse else rep, opts)
        if opts.reuse and cached:  # same items and captions, new pools: a fresh order per replication
            perm = np.random.default_rng(opts.seed * 1000 + rep).permutation(len(items))
        else:
            perm = np.arange(len(items))
        motion_emb = memo(real_cache, "motion", lambda: encode_motions(
            evaluator, [s.features.numpy() for s in items], opts.batch_size).numpy())[perm]
        real_text = memo(real_cache, "text", lambda: embed_texts(evaluator, items, opts.batch_size))[perm]
        items = [items[i] for i in perm]
        feats = [s.features.numpy() for s in items]
        refs = [[c.text for c in data.captions(s.motion_id)] for s in items]
        pool = min(M.R_PRECISION_POOL, len(items))
        top = M.r_precision(real_text, motion_emb, 3, pool)
        rows["Real motion"].add({"R@1": top[0], "R@2": top[1], "R@3": top[2],
                                 "MM-Dist": M.mm_dist(real_text, motion_emb)})
        rows["Real motion"].total += len(items)
        if not (opts.reuse and cached):
            results = []
            for s in _batches(len(feats), opts.batch_size, "caption"):
                results += pipe.motion_to_text(feats[s:s + opts.batch_size], seed=opts.seed * 1000 + rep + s,
                                               **opts.m2t_kwargs())
            cached = {"Model": [r.text if r.ok and r.text else None for r in results]}
            if baseline is not None:
                cached["Retrieval baseline"] = baseline(feats)
            caps_cache = {}
        for name, unordered in cached.items():
            hyps = [unordered[i] for i in perm]  # generated in the first order of these items
            ok = [h is not None for h in hyps]
            rows[name].failed += len(ok) - sum(ok)
            rows[name].total += len(ok)
            if sum(ok) < 2:
                continue
            good = [h for h in hyps if h is not None]
            hyp_emb = torch.cat([evaluator.encode_text(good[i:i + opts.batch_size])
                                 for i in range(0, len(good), opts.batch_size)]).cpu().numpy()
            m_ok, = _keep(ok, motion_emb)
            top = M.r_precision(hyp_emb, m_ok, 3, min(M.R_PRECISION_POOL, len(good)))
            if name not in caps_cache:  # corpus metrics do not depend on the order: computed once under --reuse
                caps_cache[name] = caption_metrics(good, [r for r, k in zip(refs, ok) if k], bert=bert)
                if labeller is not None:  # caption-side action check: nearest training caption's label
                    caps_cache[name]["Caption action acc."] = labeller.accuracy(
                        good, [s.motion_id for s, k in zip(items, ok) if k])
            rows[name].add({"R@1": top[0], "R@2": top[1], "R@3": top[2], "MM-Dist": M.mm_dist(hyp_emb, m_ok),
                            **caps_cache[name]})
    return rows


# ---- prediction and in-between -------------------------------------------------------------------------------
def _joints(features: np.ndarray) -> np.ndarray:
    from motiongpt.motion.features import features_to_joints

    return features_to_joints(np.asarray(features, dtype=np.float32))


def _given_frames(length: int, ratio: float, unit: int = 4) -> int:
    """Frames given to the model: `ratio` of the motion, a multiple of `unit`, at least one unit."""
    return max(unit, int(length * ratio) // unit * unit)


def eval_motion_completion(pipe, evaluator, data: MotionDir, opts: EvalOptions, task: str) -> dict[str, Row]:
    """pred (continue the first `prefix_ratio`) or inbetween (fill between both ends): ADE/FDE (m) on the
    frames to generate, seam jump (joint velocity jump at the seams, m/s), FID and Diversity on evaluator
    embeddings of whole motions, for real motion, the simple baselines and the model. In-between tells the
    model where the end clip stands (root offset of the real motion), as the baselines' given clips do."""
    dataset = TextMotionDataset(data, opts.split)
    baselines = COMPLETION_BASELINES[task] if opts.baselines else {}
    rows = {"Real motion": Row(), **{name: Row() for name in baselines}, "Model": Row()}
    cached, real_cache = None, ({} if opts.reuse and opts.cache_real else None)
    base_cache = {} if opts.reuse else None
    for rep in progress(range(opts.replications), desc="replications"):
        rng = np.random.default_rng(opts.seed * 1000 + rep)
        items = draw_items(dataset, 0 if opts.reuse else rep, opts)
        feats = [s.features.numpy() for s in items]
        lengths = [f.shape[0] for f in feats]
        given = [_given_frames(n, opts.prefix_ratio) for n in lengths]
        real_emb = memo(real_cache, "motion", lambda: encode_motions(evaluator, feats, opts.batch_size).numpy())
        ref_emb = reference_embeddings(evaluator, dataset, rep, opts)
        real_joints = [_joints(f) for f in feats]
        rows["Real motion"].add({"FID": M.fid(ref_emb, real_emb),
                                 "Diversity": M.diversity(real_emb, min(opts.diversity_times, len(feats)), rng),
                                 "Seam jump": _seam_jump(real_joints, given, task)})
        rows["Real motion"].total += len(feats)
        if opts.reuse and cached is not None:
            results = cached
        else:
            results = cached = _complete(pipe, feats, given, lengths, opts, rep, task)
        for name, baseline in baselines.items():
            base = [baseline(j, g) for j, g in zip(real_joints, given)]
            base_emb = memo(base_cache, name, lambda: encode_motions(
                evaluator, [joints_to_features(b) for b in base], opts.batch_size).numpy())
            rows[name].add(_completion_metrics(base, base_emb, real_joints, given, task, ref_emb, opts, rng))
            rows[name].total += len(feats)
        ok = [usable(r) and r.joints is not None for r in results]
        rows["Model"].failed += len(ok) - sum(ok)
        rows["Model"].total += len(ok)
        if sum(ok) < 2:
            continue
        gen = [r for r, k in zip(results, ok) if k]
        real_ok, given_ok = ([x for x, k in zip(xs, ok) if k] for xs in (real_joints, given))
        gen_emb = encode_motions(evaluator, [r.features for r in gen], opts.batch_size).numpy()
        rows["Model"].add(_completion_metrics([r.joints for r in gen], gen_emb, real_ok, given_ok, task, ref_emb,
                                              opts, rng))
    return rows


def _complete(pipe, feats: Sequence[np.ndarray], given: Sequence[int], lengths: Sequence[int], opts: EvalOptions,
              rep: int, task: str) -> list:
    """The model's completions, in batches (in-between with the real end clip's root offset)."""
    results = []
    for s in _batches(len(feats), opts.batch_size, task):
        b = slice(s, s + opts.batch_size)
        heads = [f[:g] for f, g in zip(feats[b], given[b])]
        seed = opts.seed * 1000 + rep + s
        if task == "pred":
            results += pipe.predict(heads, lengths=lengths[b], seed=seed, **opts.completion_kwargs())
            continue
        offsets = [root_offset(root_track(f), g - 1, len(f) - g) for f, g in zip(feats[b], given[b])]
        results += pipe.inbetween(heads, [f[-g:] for f, g in zip(feats[b], given[b])], lengths=lengths[b],
                                  seed=seed, offsets=offsets, **opts.completion_kwargs())
    return results


def _completion_metrics(joints: Sequence[np.ndarray], emb: np.ndarray, real: Sequence[np.ndarray],
                        given: Sequence[int], task: str, ref_emb: np.ndarray, opts: EvalOptions,
                        rng: np.random.Generator) -> dict[str, float]:
    """ADE / FDE against the real motions, seam jump, FID and Diversity of completed motions."""
    return {**_displacement(joints, real, given, task), "Seam jump": _seam_jump(joints, given, task),
            "FID": M.fid(ref_emb, emb), "Diversity": M.diversity(emb, min(opts.diversity_times, len(emb)), rng)}


def _seam_jump(joints: Sequence[np.ndarray], given: Sequence[int], task: str) -> float:
    """Mean joint velocity jump (m/s) over the seams (pred: after the prefix; inbetween: both) of all motions."""
    jumps = [seam_jump(j, s) for j, g in zip(joints, given)
             for s in ([g] if task == "pred" else [g, len(j) - g]) if 2 <= s < len(j) - 1]
    return float(np.mean(jumps)) if jumps else float("nan")


def _displacement(pred: Sequence[np.ndarray], real: Sequence[np.ndarray], given: Sequence[int],
                  task: str) -> dict[str, float]:
    """ADE / FDE (metres) over the generated frames, each pair cut to its common length."""
    ade, fde, weights = [], [], []
    for p, g, n in zip(pred, real, given):
        t = min(len(p), len(g))
        end = t - n if task == "inbetween" else t
        if end <= n:
            continue
        a, f = M.ade_fde(p[None, :t], g[None, :t], lengths=np.array([end]), start=np.array([n]))
        ade.append(a)
        fde.append(f)
        weights.append(end - n)
    if not ade:
        return {}
    return {"ADE": float(np.average(ade, weights=weights)), "FDE": float(np.mean(fde))}


# ---- tables --------------------------------------------------------------------------------------------------
def markdown_table(title: str, rows: dict[str, Row]) -> str:
    """A markdown table: one row per method, `mean ± ci95` per metric, and the failed / total count."""
    names = list(dict.fromkeys(k for r in rows.values() for k in r.values))
    lines = [f"### {title}", "", "| Method | " + " | ".join(names) + " | failed |",
             "|---" * (len(names) + 2) + "|"]
    for method, row in rows.items():
        cells = []
        for k in names:
            v = row.values.get(k)
            cells.append("–" if not v else "{:.3f} ± {:.3f}".format(*M.mean_ci95(v)))
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {row.failed}/{row.total} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motiongpt eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=TASKS, help="which table")
    p.add_argument("--model", help="pipeline directory (lm/ + tokenizer/); default: the shipped model")
    p.add_argument("--data", required=True, help="dataset directory in HumanML3D layout")
    p.add_argument("--split", default="test")
    p.add_argument("--replications", type=int, default=20)
    p.add_argument("--evaluator", help="evaluator directory (ours, or an original T2M tree); default <model>/evaluator")
    p.add_argument("--trust-pickle", action="store_true", help="allow reading the original evaluator's .pkl vocabulary")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--limit", type=int, help="evaluate at most N test items per replication")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="generate once, reuse in every replication")
    p.add_argument("--mm-texts", type=int, default=100, help="MultiModality texts (0 disables)")
    p.add_argument("--mm-repeats", type=int, default=30, help="MultiModality generations per text")
    p.add_argument("--mm-times", type=int, default=10, help="MultiModality pairs per text")
    p.add_argument("--no-baselines", action="store_true", help="skip the baseline rows")
    p.add_argument("--temperature", type=temperature,
                   help="t2m/actions/pred/inbetween: sampling temperature >= 0 (default: the model's per task)")
    p.add_argument("--top-k", type=int_in(1, None),
                   help="t2m/actions/pred/inbetween: sample from the k >= 1 most likely tokens")
    p.add_argument("--fade", type=int_in(0, None), help="pred/inbetween: seam fade in frames (default: the pipeline's)")
    p.add_argument("--guidance", type=positive(float),
                   help="t2m/actions: classifier-free guidance scale > 0, 1 = off (default: the model's)")
    p.add_argument("--candidates", type=int_in(1, 64),
                   help="m2t: captions per motion reranked by the model's text-to-motion likelihood, 1 = greedy only "
                        "(default: the model's)")
    p.add_argument("--no-bertscore", action="store_true", help="m2t: skip BERTScore")
    p.add_argument("--captions", default="dev", help="actions: dev (packaged human-written set), test, or a JSON file")
    p.add_argument("--recognizer", help="actions: recogniser directory; default <model>/recognizer")
    p.add_argument("--device", default="auto")
    return p


def run(args: argparse.Namespace) -> dict:
    """Load what the task needs, evaluate, return the JSON-able result (and print the table)."""
    from motiongpt.utils import pick_device

    data = MotionDir(args.data)
    device = pick_device(args.device)
    if args.task == "recon":
        from motiongpt.eval.recon import reconstruction_table
        from motiongpt.paths import default_model_dir
        from motiongpt.tokenizer import MotionTokenizer

        tok = MotionTokenizer.from_pretrained(Path(args.model or default_model_dir()) / "tokenizer").to(device).eval()
        table = reconstruction_table(tok, data, args.split, max_motions=args.limit)
        markdown = ("| " + " | ".join(table) + " |\n" + "|---" * len(table) + "|\n| "
                    + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in table.values()) + " |")
        print(markdown)
        return {"task": "recon", "data": str(data.root), "markdown": markdown, **table}
    from motiongpt.eval.evaluator import load_evaluator
    from motiongpt.lm.pipeline import Pipeline

    pipe = Pipeline.from_pretrained(args.model, device=device)
    if args.task == "actions":
        from motiongpt.eval.actions import run_actions

        return run_actions(pipe, data, args)
    if args.task == "chat":
        from motiongpt.eval.chat import run_chat

        return run_chat(pipe, data, args)
    ev_dir = args.evaluator or pipe.evaluator_dir
    if ev_dir is None:
        raise FileNotFoundError("no evaluator: pass --evaluator DIR (or put one in <model>/evaluator)")
    evaluator = load_evaluator(ev_dir, allow_pickle=args.trust_pickle, device=device)
    opts = EvalOptions.from_args(args)
    if args.task == "t2m":
        rows = eval_t2m(pipe, evaluator, data, opts)
    elif args.task == "m2t":
        from motiongpt.eval.text_metrics import BertScorer

        rows = eval_m2t(pipe, evaluator, data, opts, bert=None if args.no_bertscore else BertScorer())
    else:
        rows = eval_motion_completion(pipe, evaluator, data, opts, args.task)
    markdown = markdown_table(f"{args.task} on {data.root} ({args.split}, {args.replications} replications)", rows)
    print(markdown)
    return {"task": args.task, "model": str(args.model), "data": str(data.root), "evaluator": str(ev_dir),
            "options": vars(opts), "markdown": markdown, "rows": {k: r.summary() for k, r in rows.items()}}


# options only some tables read; given for another table they are refused instead of silently ignored
_SAMPLED = ("t2m", "actions", "pred", "inbetween")
_EVALUATED = ("t2m", "m2t", "pred", "inbetween")
TABLE_OPTIONS: dict[str, tuple[str, ...]] = {
    "temperature": _SAMPLED, "top_k": _SAMPLED, "fade": ("pred", "inbetween"), "guidance": ("t2m", "actions"),
    "candidates": ("m2t",), "no_bertscore": ("m2t",), "recognizer": ("actions",), "reuse": _EVALUATED,
    "evaluator": _EVALUATED, "trust_pickle": _EVALUATED,
}


def misplaced_options(args: argparse.Namespace) -> list[str]:
    """The options given (not None / False) that the table `args.task` does not read."""
    return [f"--{name.replace('_', '-')}" for name, tables in TABLE_OPTIONS.items()
            if args.task not in tables and getattr(args, name) not in (None, False)]


def main(argv: list[str] | None = None) -> int:
    """Entry point of `motiongpt eval`."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.replications < 1 or (args.limit is not None and args.limit < 2):
        print("motiongpt eval: --replications must be >= 1 and --limit >= 2", file=sys.stderr)
        return 2
    if misplaced := misplaced_options(args):
        print(f"motiongpt eval {args.task}: {', '.join(misplaced)} not used by this table (see --help)",
              file=sys.stderr)
        return 2
    try:
        result = run(args)
    except (FileNotFoundError, ValueError, PermissionError) as err:
        print(f"motiongpt eval: {err}", file=sys.stderr)
        return 2
    if args.out:
        atomic_write_json(args.out, result)
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
