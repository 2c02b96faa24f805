"""bf16 vs fp32 decoding of the default model on the label-balanced validation captions of scripts/guidance_sweep.py:
share of identical motions (greedy and T=0.7) and action accuracy of each (shipped recogniser).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bf16_check.py
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from guidance_sweep import val_captions  # noqa: E402
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, recognise, score
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline
torch.set_num_threads(1)
pipe = Pipeline.from_pretrained("checkpoints/default", device="cpu")
setup = build_setup(ActionRecognizer.from_pretrained("checkpoints/default/recognizer"), MotionDir("data/bandai"), "val", baselines=False)
caps = val_captions(setup, "val", 30, seed=0)
texts, truth = [c for c, _ in caps], [l for _, l in caps]
lengths = [setup.lengths.get(t, setup.lengths["*"]) for t in truth]
gen = pipe.lm.generate
out = {}
for prec in ["bf16", "fp32"]:
    pipe.lm.generate = lambda *a, _p=prec, **k: gen(*a, **{**k, "precision": _p})
    for T in [0.0, 0.7]:
        res = []
        for s in range(0, len(texts), 32):
            res += pipe.text_to_motion(texts[s:s+32], lengths=lengths[s:s+32], temperature=T, seed=s)
        pred = recognise(setup.recognizer, [r.features if r.ok else None for r in res])
        out[(prec, T)] = (res, score(truth, pred)["Acc"])
        print(prec, T, out[(prec, T)][1], flush=True)
for T in [0.0, 0.7]:
    a, b = out[("bf16", T)][0], out[("fp32", T)][0]
    same = np.mean([np.array_equal(x.features, y.features) for x, y in zip(a, b)])
    print("T", T, "identical motions bf16 vs fp32:", same)
