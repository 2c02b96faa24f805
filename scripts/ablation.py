"""Backbone ablation (RESULTS.md, in the spirit of the paper's Table 15): evaluate LM runs trained with the same
recipe and the same CPU budget (`configs/lm/ablation/*.yaml`) on one reduced protocol, and write a table.

    .venv/bin/python scripts/ablation.py                       # runs/ablation_{t5_scratch,minilm,smollm2}
    .venv/bin/python scripts/ablation.py --runs minilm --replications 3

Each run's `export/last` LM is paired with the shipped motion tokenizer, evaluator and recogniser (symlinks in
`runs/ablation_<name>/pipeline/`). Protocol: action accuracy of generated motions on the human-written dev captions
and on test-split captions (`eval actions`), text-to-motion R@3 / FID and motion-to-text R@3 / CIDEr (`eval t2m|m2t
--reuse`), a 196-frame batch-1 latency, size and training steps / wall time (read from the run's TensorBoard log).
JSON per run and task in `results/ablation/`, the table in `results/ablation.md`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from motiongpt.eval import runner
from motiongpt.paths import REPO_ROOT, default_model_dir
from motiongpt.utils import atomic_write_json, atomic_write_text

RUNS = ("t5_scratch", "minilm", "smollm2")
SHARED_PARTS = ("tokenizer", "evaluator", "recognizer")


def pipeline_dir(run: Path, shipped: Path) -> Path:
    """`<run>/pipeline` with lm -> the run's export and the shipped tokenizer / evaluator / recogniser."""
    out = run / "pipeline"
    out.mkdir(exist_ok=True)
    for name, target in [("lm", run / "export" / "last")] + [(p, shipped / p) for p in SHARED_PARTS]:
        link = out / name
        if not link.exists():
            link.symlink_to(target.resolve(), target_is_directory=True)
    return out


def task_args(task: str, model: Path, opts: argparse.Namespace) -> list[str]:
    """`motiongpt eval` arguments of one ablation measurement."""
    name, _, captions = task.partition(":")
    argv = [name, "--model", str(model), "--data", str(opts.data), "--replications", str(opts.replications)]
    if captions:
        return argv + ["--captions", captions]
    return argv + ["--reuse", "--mm-texts", "0", "--no-bertscore"] if name == "m2t" else argv + ["--reuse", "--mm-texts", "0"]


def metric(result: dict, row: str, name: str) -> float | None:
    """Mean of one metric of one table row (None when absent)."""
    entry = result.get("rows", {}).get(row, {}).get("metrics", {}).get(name)
    return None if entry is None else float(entry["mean"])


def training_log(run: Path) -> dict:
    """Steps, wall time and last train loss from the run's TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = []
    for f in sorted((run / "tb").glob("events*")):
        acc = EventAccumulator(str(f))
        acc.Reload()
        if "train/loss" in acc.Tags()["scalars"]:
            events += acc.Scalars("train/loss")
    if not events:
        return {}
    wall = (events[-1].wall_time - events[0].wall_time) / 60 if len(events) > 1 else None  # one event: unknown
    return {"steps": events[-1].step, "wall_min": wall,
            "train_loss": events[-1].value}


def model_facts(model: Path) -> dict:
    """Parameters, weight bytes on disk and 196-frame batch-1 text-to-motion latency."""
    from motiongpt.lm.pipeline import Pipeline

    pipe = Pipeline.from_pretrained(model, device="cpu")
    text = "a person walks forward and waves the right hand"
    pipe.text_to_motion([text], lengths=[196], seed=0)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        pipe.text_to_motion([text], lengths=[196], seed=0)
        times.append(time.perf_counter() - t0)
    size = sum(f.stat().st_size for f in (model / "lm").resolve().glob("*.safetensors"))
    return {"params_m": sum(p.numel() for p in pipe.lm.parameters()) / 1e6, "lm_mb": size / 2**20,
            "t2m_latency_s": min(times)}


TASKS = ("actions:dev", "actions:test", "t2m", "m2t")
COLUMNS = [("action acc. (dev, human)", "actions:dev", "Model", "Acc"),
           ("action acc. (test captions)", "actions:test", "Model", "Acc"),
           ("t2m R@3", "t2m", "Model", "R@3"), ("t2m FID", "t2m", "Model", "FID"),
           ("m2t R@3", "m2t", "Model", "R@3"), ("m2t CIDEr", "m2t", "Model", "CIDEr")]


def evaluate_run(name: str, opts: argparse.Namespace) -> dict:
    """Every measurement of one run (cached per task in results/ablation/<name>/)."""
    run = REPO_ROOT / "runs" / f"ablation_{name}"
    model = pipeline_dir(run, Path(opts.shipped))
    out_dir = Path(opts.results_dir) / name
    results = {}
    for task in opts.tasks:
        cached = out_dir / f"{task.replace(':', '_')}.json"
        if cached.exists() and not opts.force:
            results[task] = json.loads(cached.read_text())
            continue
        t0 = time.perf_counter()
        results[task] = runner.run(runner.build_parser().parse_args(task_args(task, model, opts)))
        results[task]["wall_s"] = time.perf_counter() - t0
        atomic_write_json(cached, results[task])
    return {"results": results, "training": training_log(run), "facts": model_facts(model)}


def table(summary: dict[str, dict]) -> str:
    """Markdown table, one row per backbone."""
    head = ["backbone"] + [c[0] for c in COLUMNS] + ["steps", "train wall (min)", "params (M)", "LM MB",
                                                      "t2m 196 fr. batch 1 (s)"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, s in summary.items():
        cells = [name] + [_fmt(metric(s["results"].get(task, {}), row, m)) for _, task, row, m in COLUMNS]
        t, f = s["training"], s["facts"]
        cells += [str(t.get("steps", "–")), _fmt(t.get("wall_min")), _fmt(f["params_m"], 1), _fmt(f["lm_mb"], 1),
                  _fmt(f["t2m_latency_s"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=list(RUNS))
    p.add_argument("--data", default=str(REPO_ROOT / "data" / "bandai"))
    p.add_argument("--shipped", default=str(default_model_dir()), help="model dir with tokenizer/evaluator/recognizer")
    p.add_argument("--replications", type=int, default=3)
    p.add_argument("--results-dir", default=str(REPO_ROOT / "results" / "ablation"))
    p.add_argument("--force", action="store_true", help="re-evaluate even when cached JSON exists")
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, help="measurements to make")
    opts = p.parse_args(argv)
    summary = {name: evaluate_run(name, opts) for name in opts.runs
               if (REPO_ROOT / "runs" / f"ablation_{name}" / "export" / "last").is_dir()}
    markdown = table(summary)
    atomic_write_json(Path(opts.results_dir) / "summary.json",
                      {k: {"training": v["training"], "facts": v["facts"]} for k, v in summary.items()})
    atomic_write_text(Path(opts.results_dir).parent / "ablation.md", markdown + "\n")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
