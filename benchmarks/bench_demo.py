"""Demo under load: N concurrent users sending text-to-motion prompts to the running demo, with and without batching.

Starts the demo on 127.0.0.1 (a tiny randomly initialised pipeline by default, `--model DIR` for a real one),
then for each setting (`--max-batch 8`: prompts arriving together share one model call; `1`: one after another)
and each N in `--clients` (default 1 4 8) runs N gradio_client users at once, each sending `--requests`
prompts back to back through the demo's public API (`/generate`, the same call as the Send button with the
task "text to motion": model, GLB, BVH, npy, JSON and, unless `--no-video`, the mp4). Bounded: at most `--requests` per user and no new
request after `--max-seconds` per run. Reports p50 / p90 / max latency, requests per second and the sizes of
the model calls, and writes `benchmarks/results/bench_demo.json` (atomically).

    OMP_NUM_THREADS=2 python benchmarks/bench_demo.py                  # tiny model, N = 1, 4, 8
    OMP_NUM_THREADS=2 python benchmarks/bench_demo.py --model checkpoints/default --no-video
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from motiongpt.demo.app import DemoSettings, SessionStore, build_demo
from motiongpt.utils import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results" / "bench_demo.json"
PROMPTS = (
    "a person waves with the right hand", "a person walks forward and then turns left",
    "a person kicks with the left leg", "someone jumps up twice", "a person sits down slowly",
    "a person runs in a circle", "a person throws a ball", "a person bows",
)


def tiny_pipeline():
    """A real Pipeline around a tiny random T5 and VQ-VAE (valid shapes, meaningless motions)."""
    import torch

    from motiongpt.lm.model import MotionLM
    from motiongpt.lm.pipeline import Pipeline
    from motiongpt.lm.vocab import MotionVocab, train_text_tokenizer
    from motiongpt.tokenizer import MotionTokenizer, TokenizerConfig

    vocab = MotionVocab.build(train_text_tokenizer(list(PROMPTS) * 5, vocab_size=200), codebook_size=16)
    torch.manual_seed(0)
    vq = MotionTokenizer(TokenizerConfig(codebook_size=16, code_dim=16, width=16, depth=1))
    return Pipeline(MotionLM.from_preset("tiny", vocab, seed=0), vq, device="cpu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ask(client, prompt: str, seconds: float) -> float:
    """One text-to-motion request through the demo API; returns its latency in seconds."""
    start = time.perf_counter()
    history = client.predict(prompt, None, [], "text to motion", seconds, 1.0, -1, api_name="/generate")[0]
    elapsed = time.perf_counter() - start
    if "Here is a motion" not in str(history[-1]):
        raise RuntimeError(f"the demo did not answer with a motion: {history[-1]}")
    return elapsed


def run_users(clients: list, requests: int, seconds: float, max_seconds: float) -> tuple[list[float], float]:
    """All clients at once, each sending up to `requests` prompts; (latencies, wall seconds)."""
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds
    barrier = threading.Barrier(len(clients))

    def user(i: int, client) -> None:
        barrier.wait()
        for r in range(requests):
            if time.perf_counter() > deadline:
                return
            try:
                latency = ask(client, PROMPTS[(i + r) % len(PROMPTS)], seconds)
            except Exception as e:  # reported after the run
                errors.append(e)
                return
            with lock:
                latencies.append(latency)

    threads = [threading.Thread(target=user, args=(i, c)) for i, c in enumerate(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} request(s) failed, first: {errors[0]}")
    return latencies, time.perf_counter() - start


def summary(latencies: list[float], wall: float) -> dict:
    lat = np.asarray(latencies)
    return {"requests": len(lat), "p50_s": round(float(np.percentile(lat, 50)), 3),
            "p90_s": round(float(np.percentile(lat, 90)), 3), "max_s": round(float(lat.max()), 3),
            "wall_s": round(wall, 3), "throughput_rps": round(len(lat) / wall, 3)}


def bench_setting(pipeline, max_batch: int, args: argparse.Namespace, root: Path) -> list[dict]:
    """One demo server with `max_batch`; a run per client count."""
    from gradio_client import Client

    settings = DemoSettings(concurrency=max(args.clients), max_batch=max_batch, video=not args.no_video)
    demo = build_demo(pipeline, settings, SessionStore(root=root / f"batch{max_batch}"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                allowed_paths=[str(root)])
    rows = []
    try:
        url = f"http://127.0.0.1:{port}/"
        clients = [Client(url, verbose=False) for _ in range(max(args.clients))]
        ask(clients[0], PROMPTS[0], args.seconds)  # warm-up
        for n in args.clients:
            calls_before = len(demo.backend.worker.batch_sizes)
            latencies, wall = run_users(clients[:n], args.requests, args.seconds, args.max_seconds)
            sizes = demo.backend.worker.batch_sizes[calls_before:]
            row = {"max_batch": max_batch, "clients": n, **summary(latencies, wall), "model_calls": len(sizes),
                   "mean_batch": round(float(np.mean(sizes)), 2)}
            print(f"max_batch={max_batch} N={n}: p50 {row['p50_s']:.2f} s, p90 {row['p90_s']:.2f} s, max "
                  f"{row['max_s']:.2f} s, {row['throughput_rps']:.2f} req/s, {row['model_calls']} model calls "
                  f"(mean batch {row['mean_batch']})", flush=True)
            rows.append(row)
    finally:
        demo.close()
        demo.backend.worker.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, metavar="DIR", help="model folder (default: tiny random)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8], help="concurrent users per run")
    p.add_argument("--max-batch", type=int, nargs="+", default=[8, 1], help="settings to compare (1: no batching)")
    p.add_argument("--requests", type=int, default=2, help="prompts per user per run (default: 2)")
    p.add_argument("--seconds", type=float, default=4.0, help="motion length asked for (default: 4)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="no new request after this per run")
    p.add_argument("--no-video", action="store_true", help="the demo skips the mp4 (3D view and files only)")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default: {RESULTS})")
    args = p.parse_args(argv)
    if args.model is not None:
        from motiongpt.lm.pipeline import Pipeline

        pipeline = Pipeline.from_pretrained(args.model, device="cpu")
    else:
        pipeline = tiny_pipeline()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        rows = [row for b in args.max_batch for row in bench_setting(pipeline, b, args, Path(tmp))]
    result = {"model": str(args.model or "tiny random"), "video": not args.no_video, "seconds": args.seconds,
              "requests_per_user": args.requests, "omp_threads": os.environ.get("OMP_NUM_THREADS"),
              "cpus": os.cpu_count(), "load_average_1min_after": round(os.getloadavg()[0], 2), "runs": rows}
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
