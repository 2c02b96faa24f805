"""LM benchmark: training tokens/s (fp32, bf16) and text-to-motion latency (lean loop vs transformers' generate).

    OMP_NUM_THREADS=2 python benchmarks/bench_lm.py [--presets tiny cpu small minilm] [--threads 2] [--repeats 3]
        [--no-pipeline] [--no-headline] [--out benchmarks/results/bench_lm.json]

Per preset (each in its own process, so that the peak resident memory is that preset's): parameters, training
tokens/s of AdamW steps (batch 16, dynamic padding) in fp32 and under bf16 autocast, and the seconds per
sentence of a 196-frame text-to-motion (49 motion tokens + <som>, <eom>, eos) at batch 1 and batch 32 for
`MotionLM.generate(backend="lean")` in fp32 and bf16 and for `backend="hf"` (transformers' `generate`) in fp32.
Variants are timed interleaved (one run of each per repeat) and the median is reported with the minimum.
T5 presets are random with a ~1k-piece caption vocabulary + 512 motion tokens; `minilm` is the BERT2BERT
backbone warm-started from the bundled all-MiniLM-L6-v2 (30,522 WordPiece ids + 512 motion tokens).

Headline (issue 14): 50 motion tokens at t5-small size (preset `small`) with a 30k text vocabulary, batch 1,
lean vs hf (goal >= 3x; `speedup_lean_default` is the lean loop at `generate`'s default precision "auto": bf16
weights where the CPU has native bf16). Pipeline: `Pipeline.from_pretrained("checkpoints/default").text_to_motion`
of one 196-frame motion at the pipeline's default classifier-free guidance (two decoder rows; goal <= 0.3 s,
issue 11) in fp32 and bf16, and unguided lean vs transformers' `generate` (which has no guidance). Results are printed and written atomically as JSON. The
machine's 1-minute load average at start and end is recorded: timings on a shared machine are only comparable
within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from motiongpt.lm.batch import collate
from motiongpt.lm.model import MotionLM
from motiongpt.lm.templates import LMSample, build_example, load_tasks, stage_tasks
from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer
from motiongpt.precision import autocast_context, cpu_supports_bf16, resolve_precision
from motiongpt.utils import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_lm.json"
WORDS = ("a person walks runs jumps waves kicks bows turns left right hand leg forward backward slowly quickly "
         "then stops and sits down stands up in a circle happily sadly while raising both arms").split()
FRAMES, CODEBOOK = 196, 512
VARIANTS = {"lean_fp32": dict(backend="lean", precision="fp32"), "lean_bf16": dict(backend="lean", precision="bf16"),
            "hf_fp32": dict(backend="hf", precision="fp32")}


def captions(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(2000)]


def small_vocab() -> MotionVocab:
    """A ~1k-piece caption tokenizer + 512 motion tokens."""
    return MotionVocab.build(train_text_tokenizer(captions(), vocab_size=1000), CODEBOOK)


def minilm_vocab() -> MotionVocab:
    """MiniLM's 30,522 WordPiece ids + 512 motion tokens."""
    from motiongpt.lm.model import minilm_text_tokenizer

    return MotionVocab.build(minilm_text_tokenizer(), CODEBOOK)


def build_lm(preset: str) -> MotionLM:
    if preset == "minilm":
        return MotionLM.from_minilm(minilm_vocab())
    return MotionLM.from_preset(preset, small_vocab(), seed=0)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, per: int = 1) -> dict[str, dict[str, float]]:
    """{name: {median_s, min_s}} of `fns` run in turn `repeats` times after one warm-up each (seconds / `per`)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn) / per)
    return {k: {"median_s": statistics.median(v), "min_s": min(v)} for k, v in times.items()}


def train_throughput(lm: MotionLM, precision: str, batch_size: int, steps: int) -> float:
    """Input + target tokens per second of AdamW steps on instruction examples (dynamic padding)."""
    rng, tasks, caps = random.Random(0), [load_tasks()[n] for n in stage_tasks("instruct")], captions()
    samples = [LMSample(torch.randint(0, CODEBOOK, (n,)), 4 * n, rng.choice(caps))
               for n in (rng.randint(10, 49) for _ in range(batch_size * (steps + 1)))]
    examples = [build_example(rng.choice([t for t in tasks if t.serves(s)]), s, lm.vocab, rng) for s in samples]
    batches = [collate(examples[i:i + batch_size], lm.vocab.pad_id, lm.causal)
               for i in range(0, len(examples), batch_size)]
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-5)
    lm.train()
    start, tokens = 0.0, 0
    for i, b in enumerate(batches):
        if i == 1:  # the first step is a warm-up
            start, tokens = time.perf_counter(), 0
        with autocast_context("cpu", precision):
            loss = lm(b)
        loss.backward()
        opt.step()
        opt.zero_grad()
        tokens += b.num_tokens
    return tokens / (time.perf_counter() - start)


def t2m_prompts(lm: MotionLM, batch: int) -> list[torch.Tensor]:
    task, rng, caps = load_tasks()["t2m_frames"], random.Random(1), captions()
    return [build_example(task, LMSample(torch.zeros(FRAMES // 4, dtype=torch.long), FRAMES, rng.choice(caps)),
                          lm.vocab, rng, phrasing=0).input_ids for _ in range(batch)]


def t2m_latency(lm: MotionLM, batch: int, repeats: int, tokens: int = FRAMES // 4) -> dict[str, dict[str, float]]:
    """Seconds per sentence of one `tokens`-token motion per prompt, per variant (sampling, seeded)."""
    prompts = t2m_prompts(lm, batch)
    lm.eval()

    def run(kw: dict) -> Callable[[], object]:
        def go() -> None:
            out = lm.generate(prompts, ["motion"] * batch, [tokens] * batch, seed=0, **kw)
            assert all(int((o == lm.vocab.eom_id).nonzero()[0]) == tokens + 1 for o in out)
        return go
    return interleaved({name: run(kw) for name, kw in VARIANTS.items()}, repeats, per=batch)


def bench_preset(preset: str, args: argparse.Namespace) -> dict:
    """All per-preset figures (run inside a dedicated process)."""
    lm = build_lm(preset)
    row: dict = {"parameters": sum(p.numel() for p in lm.parameters()), "vocab": lm.vocab.size}
    row["train_tokens_per_s"] = {p: train_throughput(lm, p, args.batch_size, args.train_steps)
                                 for p in ("fp32", "bf16")}
    row["t2m_s_per_sentence_batch1"] = t2m_latency(lm, 1, args.repeats)
    row["t2m_s_per_sentence_batch32"] = t2m_latency(lm, 32, max(1, args.repeats - 2))
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def headline(args: argparse.Namespace) -> dict:
    """50 motion tokens, t5-small size, 30k text vocabulary, batch 1: lean vs hf."""
    lm = MotionLM.from_preset("small", minilm_vocab(), seed=0).eval()
    res = t2m_latency(lm, 1, args.repeats + 2, tokens=50)
    hf, default = res["hf_fp32"]["median_s"], resolve_precision("cpu", "auto")
    return {"vocab": lm.vocab.size, **res, "speedup_lean_fp32": hf / res["lean_fp32"]["median_s"],
            "speedup_lean_bf16": hf / res["lean_bf16"]["median_s"], "lean_default_precision": default,
            "speedup_lean_default": hf / res[f"lean_{default}"]["median_s"], "goal_speedup": 3.0}


PIPELINE_VARIANTS = {  # (generate kwargs, text_to_motion guidance: None = the pipeline's default)
    "lean_fp32": (dict(backend="lean", precision="fp32"), None),
    "lean_bf16": (dict(backend="lean", precision="bf16"), None),
    "lean_bf16_unguided": (dict(backend="lean", precision="bf16"), 1.0),
    "hf_fp32_unguided": (dict(backend="hf", precision="fp32"), 1.0),  # transformers' generate has no guidance
}


def pipeline(args: argparse.Namespace) -> dict:
    """`Pipeline.text_to_motion` of one 196-frame motion from checkpoints/default at its default guidance (two
    decoder rows), lean fp32 / bf16, and unguided lean vs hf."""
    from motiongpt.lm.pipeline import T2M_GUIDANCE, Pipeline

    pipe = Pipeline.from_pretrained(ROOT / "checkpoints" / "default")
    generate = pipe.lm.generate
    text = ["a person walks forward and waves with the right hand"]

    def run(kw: dict, guidance: float | None) -> Callable[[], object]:
        extra = {} if guidance is None else {"guidance": guidance}

        def go() -> None:
            pipe.lm.generate = lambda *a, **k: generate(*a, **{**k, **kw})
            [res] = pipe.text_to_motion(text, lengths=[FRAMES], seed=0, **extra)
            assert res.ok and res.frames == FRAMES, res.error
        return go
    res = interleaved({name: run(*v) for name, v in PIPELINE_VARIANTS.items()}, args.repeats + 2)
    return {**res, "lean_default_precision": resolve_precision("cpu", "auto"), "guidance": T2M_GUIDANCE,
            "goal_s": 0.3}


def child(preset: str, args: argparse.Namespace) -> dict:
    """Run one preset in a fresh interpreter; its JSON comes back on the last stdout line."""
    cmd = [sys.executable, __file__, "--child", preset, "--threads", str(args.threads), "--repeats",
           str(args.repeats), "--train-steps", str(args.train_steps), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _medians(times: dict) -> str:
    return " ".join(f"{k} {v['median_s']:.3f}" for k, v in times.items() if isinstance(v, dict))


def report(name: str, row: dict) -> None:
    lat = lambda key: _medians(row[key])  # noqa: E731
    print(f"{name:>7}: {row['parameters'] / 1e6:5.1f}M | train tok/s fp32 {row['train_tokens_per_s']['fp32']:.0f} "
          f"bf16 {row['train_tokens_per_s']['bf16']:.0f} | s/sentence batch 1: {lat('t2m_s_per_sentence_batch1')} "
          f"| batch 32: {lat('t2m_s_per_sentence_batch32')} | peak {row['peak_rss_mib']:.0f} MiB", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="*", default=["tiny", "cpu", "small", "minilm"])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (the project targets 2 cores)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16, help="training batch size")
    p.add_argument("--no-headline", action="store_true", help="skip the t5-small 30k-vocab lean-vs-hf figure")
    p.add_argument("--no-pipeline", action="store_true", help="skip the checkpoints/default pipeline figure")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(bench_preset(args.child, args)))
        return 0
    results: dict = {"machine": {"python": sys.version.split()[0], "torch": torch.__version__,
                                 "threads": args.threads, "cpu": platform.processor() or platform.machine(),
                                 "cpu_bf16": cpu_supports_bf16(), "load_average_1min_at_start": os.getloadavg()[0]},
                     "frames": FRAMES, "presets": {}}
    for preset in args.presets:
        results["presets"][preset] = child(preset, args)
        report(preset, results["presets"][preset])
        atomic_write_json(args.out, results)  # partial results survive an interrupted run
    if not args.no_headline:
        results["headline_t5_small_50_tokens_batch1"] = h = headline(args)
        print(f"t5-small, 50 tokens, batch 1: hf {h['hf_fp32']['median_s']:.3f} s, lean fp32 "
              f"{h['lean_fp32']['median_s']:.3f} s ({h['speedup_lean_fp32']:.1f}x), lean bf16 "
              f"{h['lean_bf16']['median_s']:.3f} s ({h['speedup_lean_bf16']:.1f}x); default precision here "
              f"{h['lean_default_precision']}", flush=True)
        atomic_write_json(args.out, results)
    if not args.no_pipeline and (ROOT / "checkpoints" / "default" / "lm").is_dir():
        results["pipeline_default_196_frames_batch1"] = pl = pipeline(args)
        print("pipeline (checkpoints/default), 196 frames, batch 1: "
              + ", ".join(f"{k} {v['median_s']:.3f} s" for k, v in pl.items() if isinstance(v, dict)), flush=True)
    results["machine"]["load_average_1min_at_end"] = os.getloadavg()[0]
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
