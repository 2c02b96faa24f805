"""bf16 vs fp32 decoding of the default model on the label-balanced validation captions of scripts/guidance_sweep.py:
share of identical motions (greedy and T=0.7) and action accuracy of each (shipped recogniser).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bf16_check.py
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from guidance_sweep import generate_and_recognise, val_captions  # noqa: E402
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, score
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline


def main() -> None:
    torch.set_num_threads(1)
    pipe = Pipeline.from_pretrained("checkpoints/default", device="cpu")
    setup = build_setup(ActionRecognizer.from_pretrained("checkpoints/default/recognizer"), MotionDir("data/bandai"),
                        "val", baselines=False)
    caps = val_captions(setup, "val", 30, seed=0)
    texts, truth = [c for c, _ in caps], [lab for _, lab in caps]
    generate = pipe.lm.generate
    motions = {}
    for precision in ("bf16", "fp32"):
        pipe.lm.generate = lambda *a, _p=precision, **k: generate(*a, **{**k, "precision": _p})
        for temperature in (0.0, 0.7):
            res, pred = generate_and_recognise(pipe, setup, texts, truth, 0, temperature=temperature)
            motions[precision, temperature] = res
            print(precision, temperature, score(truth, pred)["Acc"], flush=True)
    for temperature in (0.0, 0.7):
        pairs = zip(motions["bf16", temperature], motions["fp32", temperature])
        print("T", temperature, "identical motions bf16 vs fp32:",
              np.mean([np.array_equal(a.features, b.features) for a, b in pairs]))


if __name__ == "__main__":
    main()
