"""LM benchmark: training tokens/s and text-to-motion latency per sentence for LM presets.

    python benchmarks/bench_lm.py [--presets tiny small] [--threads 2] [--repeats 3]

Models are randomly initialised (the speed does not depend on the weights); the vocabulary is a caption
tokenizer of ~1k pieces + 512 motion tokens. Latency = `MotionLM.generate` of one 196-frame motion (49 tokens +
<som>, <eom>, eos, KV cache, grammar constraints) for batch 1 and batch 32, divided by the batch size.
Goal: <= 0.25 s per 196-frame sample with the small preset on 2 CPU cores. Results are printed and written
atomically to benchmarks/results/lm.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

from motiongpt.lm.batch import collate
from motiongpt.lm.model import MotionLM
from motiongpt.lm.templates import LMSample, build_example, load_tasks
from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer
from motiongpt.utils import atomic_write_json

OUT = Path(__file__).resolve().parent / "results" / "lm.json"
WORDS = ("a person walks runs jumps waves kicks bows turns left right hand leg forward backward slowly quickly "
         "then stops and sits down stands up in a circle happily sadly while raising both arms").split()
FRAMES = 196
GOAL_S = 0.25


def make_vocab(seed: int = 0) -> tuple[MotionVocab, list[str]]:
    """A ~1k-piece caption tokenizer + 512 motion tokens, and the synthetic captions."""
    rng = random.Random(seed)
    captions = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(2000)]
    return MotionVocab.build(train_text_tokenizer(captions, vocab_size=1000), 512), captions


def train_throughput(lm: MotionLM, captions: list[str], batch_size: int, steps: int) -> float:
    """Target + input tokens per second of AdamW steps on instruction examples (dynamic padding)."""
    rng, tasks = random.Random(0), list(load_tasks().values())
    samples = [LMSample(torch.randint(0, 512, (n,)), 4 * n, rng.choice(captions))
               for n in (rng.randint(10, 49) for _ in range(batch_size * steps))]
    batches = [collate([build_example(rng.choice(tasks), s, lm.vocab, rng) for s in samples[i:i + batch_size]],
                       lm.vocab.pad_id, lm.causal) for i in range(0, len(samples), batch_size)]
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-4)
    lm.train()
    lm(batches[0]).backward()  # warm-up
    opt.zero_grad()
    start, tokens = time.perf_counter(), 0
    for b in batches:
        lm(b).backward()
        opt.step()
        opt.zero_grad()
        tokens += b.num_tokens
    return tokens / (time.perf_counter() - start)


def t2m_latency(lm: MotionLM, captions: list[str], batch: int, repeats: int) -> float:
    """Median seconds per sentence to generate one 196-frame motion (sampling, KV cache)."""
    task = load_tasks()["t2m_frames"]
    rng = random.Random(1)
    prompts = [build_example(task, LMSample(torch.zeros(49, dtype=torch.long), FRAMES, rng.choice(captions)),
                             lm.vocab, rng, phrasing=0).input_ids for _ in range(batch)]
    n_tokens = FRAMES // 4
    lm.eval()
    lm.generate(prompts[:1], ["motion"], [n_tokens], seed=0)  # warm-up
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        out = lm.generate(prompts, ["motion"] * batch, [n_tokens] * batch, seed=r)
        times.append((time.perf_counter() - start) / batch)
        assert all(int((o == lm.vocab.eom_id).nonzero()[0]) == n_tokens + 1 for o in out)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (the project targets 2 cores)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16, help="training batch size")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    vocab, captions = make_vocab()
    results: dict = {"machine": {"python": sys.version.split()[0], "torch": torch.__version__,
                                 "threads": args.threads, "cpu": platform.processor() or platform.machine(),
                                 "load_average_1min_at_start": os.getloadavg()[0]},
                     "frames": FRAMES, "goal_s_per_sample_small": GOAL_S, "presets": {}}
    for preset in args.presets:
        lm = MotionLM.from_preset(preset, vocab, seed=0)
        row = {"parameters": sum(p.numel() for p in lm.parameters()),
               "train_tokens_per_s": train_throughput(lm, captions, args.batch_size, args.train_steps),
               "t2m_s_per_sentence_batch1": t2m_latency(lm, captions, 1, args.repeats),
               "t2m_s_per_sentence_batch32": t2m_latency(lm, captions, 32, max(1, args.repeats - 1))}
        results["presets"][preset] = row
        print(f"{preset:>8}: {row['parameters'] / 1e6:6.1f}M params | train {row['train_tokens_per_s']:8.0f} tok/s | "
              f"t2m 196 frames: batch 1 {row['t2m_s_per_sentence_batch1']:.3f} s, "
              f"batch 32 {row['t2m_s_per_sentence_batch32']:.3f} s/sentence", flush=True)
    if "small" in results["presets"]:
        s = results["presets"]["small"]["t2m_s_per_sentence_batch1"]
        results["small_meets_goal"] = s <= GOAL_S
        print(f"goal (small, batch 1, <= {GOAL_S} s): {'met' if s <= GOAL_S else 'NOT met'} ({s:.3f} s)")
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
