"""Choose the classifier-free guidance default of text-to-motion on the VALIDATION split (never on the human-written
dev captions): action accuracy (shipped recogniser) of motions generated for a label-balanced set of val captions
(every caption of every labelled val motion, at most `--per-label` per label, so the rare Bandai set-1 actions
weigh as much as the frequent set-2 ones), at the label's median training length, 2 seeds per setting.

    .venv/bin/python scripts/guidance_sweep.py --model checkpoints/default --out results/guidance_sweep_val.json
    .venv/bin/python scripts/guidance_sweep.py --settings 1.0:0.7 3.0:0.7 3.0:1.0   # guidance:temperature pairs
"""
import argparse
import json
import time

import numpy as np
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, clips_by_label, recognise, score
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline
from motiongpt.utils import atomic_write_text


def val_captions(setup, split: str, per_label: int, seed: int) -> list[tuple[str, str]]:
    """(caption, label) pairs: every caption of the split's labelled motions, at most `per_label` per label."""
    by_label = {label: [(c.text, label) for mid in ids for c in setup.data.captions(mid)]
                for label, ids in clips_by_label(setup.data, split, setup.labels).items() if label in setup.judgeable}
    rng = np.random.default_rng(seed)
    out = []
    for label in sorted(by_label):
        caps = by_label[label]
        out += [caps[i] for i in sorted(rng.permutation(len(caps))[:per_label])]
    return out


def generate_and_recognise(pipe, setup, texts: list[str], truth: list[str], seed: int, **kwargs
                           ) -> tuple[list, list[str | None]]:
    """Motions for `texts` at their labels' median training lengths (`text_to_motion` in chunks of 32, chunk s
    seeded `seed + s`, `kwargs` passed on) and the recogniser's label of each (None where generation failed)."""
    lengths = [setup.lengths.get(t, setup.lengths["*"]) for t in truth]
    res = []
    for s in range(0, len(texts), 32):
        res += pipe.text_to_motion(texts[s:s + 32], lengths=lengths[s:s + 32], seed=seed + s, **kwargs)
    return res, recognise(setup.recognizer, [r.features if r.ok else None for r in res])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="checkpoints/default")
    p.add_argument("--data", default="data/bandai")
    p.add_argument("--split", default="val")
    p.add_argument("--per-label", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--settings", nargs="+", default=["1.0:0.7", "1.5:0.7", "2.0:0.7", "3.0:0.7", "4.0:0.7"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="results/guidance_sweep_val.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = Pipeline.from_pretrained(args.model, device="cpu")
    setup = build_setup(ActionRecognizer.from_pretrained(f"{args.model}/recognizer"), MotionDir(args.data), args.split,
                        baselines=False)
    caps = val_captions(setup, args.split, args.per_label, seed=0)
    texts, truth = [c for c, _ in caps], [lab for _, lab in caps]
    print(len(caps), f"{args.split} captions over", len(set(truth)), "labels", flush=True)
    out = {"command": "python scripts/guidance_sweep.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()),
        "captions": len(caps), "labels": len(set(truth)), "results": {}}
    for setting in args.settings:
        guidance, temperature = map(float, setting.split(":"))
        runs, t0 = [], time.time()
        for seed in args.seeds:
            _, pred = generate_and_recognise(pipe, setup, texts, truth, seed * 1000, temperature=temperature,
                                             guidance=guidance)
            runs.append(score(truth, pred))
        summary = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        out["results"][setting] = {**summary, "runs": runs, "wall_s": round(time.time() - t0, 1)}
        print(f"guidance {guidance} T {temperature}: acc {summary['Acc']:.3f} macro {summary['Macro acc']:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)
        atomic_write_text(args.out, json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
