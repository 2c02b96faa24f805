"""Evaluator encode throughput (motions/s and texts/s) for the T2M and TMR evaluators, printed and as JSON.

    python benchmarks/bench_eval.py [--evaluator DIR] [--batch 64] [--frames 196] [--out bench_eval.json]

Without --evaluator, untrained evaluators of the CPU preset sizes are timed (throughput does not depend on the
weights). Uses one CPU thread unless --threads says otherwise.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from motiongpt.utils import atomic_write_json, pick_device

TEXT = "a person walks forward slowly and waves the left hand"


def _timed(fn, repeats: int) -> float:
    """Seconds per call (one warm-up call first)."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def _evaluators(path: str | None):
    if path:
        from motiongpt.eval.evaluator import load_evaluator

        return {path: load_evaluator(path)}
    from motiongpt.eval.evaluator import EvaluatorConfig, T2MEvaluator
    from motiongpt.eval.tmr import TMRConfig, TMREvaluator
    from motiongpt.eval.words import Vocabulary

    vocab = Vocabulary.from_glove(TEXT.split())
    mean, std = np.zeros(263, np.float32), np.ones(263, np.float32)
    t2m_cpu = EvaluatorConfig(**{k: 128 for k in ("dim_text_hidden", "dim_coemb_hidden", "dim_movement_enc_hidden",
                                                  "dim_movement_latent", "dim_motion_hidden")})
    return {"t2m (cpu preset)": T2MEvaluator(t2m_cpu, vocab, mean, std),
            "t2m (original sizes)": T2MEvaluator(EvaluatorConfig(), vocab, mean, std),
            "tmr (cpu preset)": TMREvaluator(TMRConfig(), mean, std)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--evaluator")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--frames", type=int, default=196)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device()
    feats = torch.randn(args.batch, args.frames, 263, device=device)
    lengths = torch.full((args.batch,), args.frames, device=device)
    texts = [TEXT] * args.batch
    results = {}
    for name, ev in _evaluators(args.evaluator).items():
        ev = ev.to(device)
        tok = [["a/DET", "person/NOUN", "walk/VERB", "forward/ADV"]] * args.batch
        m = _timed(lambda: ev.encode_motion(feats, lengths), args.repeats)
        t = _timed(lambda: ev.encode_text(texts, tok), args.repeats)
        results[name] = {"motions_per_s": args.batch / m, "texts_per_s": args.batch / t}
        print(f"{name:24s} motions/s {args.batch / m:9.1f}   texts/s {args.batch / t:9.1f}")
    if args.out:
        atomic_write_json(args.out, {"device": str(device), "batch": args.batch, "frames": args.frames,
                                     "threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
