"""Action accuracy of the VQ-VAE's reconstructions of labelled clips: how much of each action survives the motion
tokenizer, i.e. the ceiling of any generator that speaks through it. Per label over a split's clips (mirrors
included), and weighted by the label counts of the human-written dev captions.

    OMP_NUM_THREADS=2 .venv/bin/python scripts/vq_action_ceiling.py --split train --out results/vq_action_ceiling.json
"""
import argparse
import json
from collections import Counter

import torch

from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, clips_by_label, recognise
from motiongpt.eval.devsets import load_action_captions
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.eval.recon import reconstruct
from motiongpt.tokenizer import MotionTokenizer
from motiongpt.utils import atomic_write_text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="checkpoints/default")
    p.add_argument("--data", default="data/bandai")
    p.add_argument("--split", default="train")
    p.add_argument("--out", default="results/vq_action_ceiling.json")
    args = p.parse_args()
    setup = build_setup(ActionRecognizer.from_pretrained(f"{args.model}/recognizer"), MotionDir(args.data),
                        args.split, baselines=False)
    tok = MotionTokenizer.from_pretrained(f"{args.model}/tokenizer")
    rows = {}
    for label, ids in sorted(clips_by_label(setup.data, args.split, setup.labels).items()):
        real = [setup.data.features(m) for m in ids]
        with torch.no_grad():
            vq = reconstruct(tok, real)[0]
        hits = {name: sum(p == label for p in recognise(setup.recognizer, clips))
                for name, clips in (("real", real), ("vq", vq))}
        rows[label] = {"clips": len(ids), **{k: v / len(ids) for k, v in hits.items()}}
        print(f"{label:20s} {len(ids):4d} clips  real {rows[label]['real']:.2f}  vq {rows[label]['vq']:.2f}", flush=True)
    dev = Counter(c.label for c in load_action_captions() if c.label in rows)
    weighted = {k: sum(rows[lab][k] * n for lab, n in dev.items()) / sum(dev.values()) for k in ("real", "vq")}
    print(f"weighted by the dev captions' labels: real {weighted['real']:.3f}  vq {weighted['vq']:.3f}")
    atomic_write_text(args.out, json.dumps({"command": f"python scripts/vq_action_ceiling.py --split {args.split}",
                                            "labels": rows, "dev_weighted": weighted}, indent=1))


if __name__ == "__main__":
    main()
