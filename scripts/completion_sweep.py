"""Choose the prediction / in-between decoding defaults on the VALIDATION split (never on the test split).

Runs `eval_motion_completion` (the code of `motiongpt eval pred|inbetween`, `--reuse`) for each variant of
sampling temperature / top-k / seam fade and records the model's ADE, FDE, FID, Diversity and seam jump next to
the baselines and real motion, for every generation seed:

    .venv/bin/python scripts/completion_sweep.py --tasks pred inbetween --seeds 0 1 \
        --variants 1.0:-:8 0.7:-:8 0.5:-:8 0:-:8 0.5:-:0 0.5:-:16 1.0:50:8 --out results/completion_sweep_val.json

A variant is TEMPERATURE:TOP_K:FADE ("-" for no top-k). The baselines are measured with the first variant of
every seed (the seed also draws the evaluated crops). The JSON keeps the commands and every number; an existing
--out file is extended.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.eval.evaluator import load_evaluator
from motiongpt.eval.runner import EvalOptions, eval_motion_completion
from motiongpt.lm.pipeline import Pipeline
from motiongpt.utils import atomic_write_json


def parse_variant(text: str) -> dict:
    """{"temperature", "top_k", "fade"} of "T:K:F" (K "-" for none)."""
    temp, top_k, fade = text.split(":")
    return {"temperature": float(temp), "top_k": None if top_k == "-" else int(top_k), "fade": int(fade)}


def summarise(rows: dict) -> dict[str, dict[str, float]]:
    """Mean of every metric of every table row."""
    return {name: {k: float(np.mean(v)) for k, v in row.values.items()} for name, row in rows.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="checkpoints/default")
    p.add_argument("--data", default="data/bandai")
    p.add_argument("--split", default="val")
    p.add_argument("--tasks", nargs="+", default=["pred", "inbetween"], choices=["pred", "inbetween"])
    p.add_argument("--variants", nargs="+", required=True, help="TEMPERATURE:TOP_K:FADE")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--replications", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="results/completion_sweep_val.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = Pipeline.from_pretrained(args.model, device="cpu")
    weights = (Path(args.model) / "lm" / "model.safetensors").read_bytes()
    lm_sha = hashlib.sha256(weights).hexdigest()[:12]  # which LM the numbers belong to
    evaluator = load_evaluator(pipe.evaluator_dir, device="cpu")
    data = MotionDir(args.data)
    command = "python scripts/completion_sweep.py " + " ".join(sys.argv[1:] if argv is None else argv)
    out = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {"commands": [], "runs": []}
    out["commands"].append(command)
    for task in args.tasks:
        for text in args.variants:
            for seed in args.seeds:
                variant = parse_variant(text)
                opts = EvalOptions(split=args.split, replications=args.replications, seed=seed, reuse=True,
                                   baselines=text == args.variants[0], **variant)
                t0 = time.perf_counter()
                rows = summarise(eval_motion_completion(pipe, evaluator, data, opts, task))
                run = {"task": task, "lm_sha256": lm_sha, "split": args.split, "replications": args.replications,
                       "seed": seed, **variant,
                       "rows": rows, "wall_s": time.perf_counter() - t0}
                out["runs"].append(run)
                model = rows["Model"]
                print(task, text, seed, " ".join(f"{k} {v:.3f}" for k, v in model.items()), flush=True)
                atomic_write_json(args.out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
