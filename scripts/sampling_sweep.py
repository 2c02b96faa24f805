"""Choose the text-to-motion sampling default on the VALIDATION split (never on the human-written dev captions):
action accuracy (shipped recogniser) of motions generated for one caption per val motion, 2 seeds per setting.

    .venv/bin/python scripts/sampling_sweep.py      # -> results/sampling_sweep_val.json
"""
import json, sys, numpy as np, torch
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import draw_test_captions
from motiongpt.data.labels import read_motion_labels
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline
torch.set_num_threads(2)
data = MotionDir("data/bandai")
pipe = Pipeline.from_pretrained("checkpoints/default", device="cpu")
rec = ActionRecognizer.from_pretrained("checkpoints/default/recognizer")
caps = draw_test_captions(data, "val", read_motion_labels(data), np.random.default_rng(0))
caps = [c for c in caps if c.label in rec.labels]
print(len(caps), "val captions")
out = {}
for temp, top_k in [(1.0, None), (0.7, None), (0.5, None), (1.0, 50)]:
    accs = []
    for seed in (0, 1):
        res = []
        for s in range(0, len(caps), 32):
            chunk = caps[s:s + 32]
            res += pipe.text_to_motion([c.text for c in chunk], lengths=[120] * len(chunk), temperature=temp, top_k=top_k, seed=seed * 100 + s)
        names = rec.predict([r.features for r in res]).names
        accs.append(float(np.mean([n == c.label for n, c in zip(names, caps)])))
    out[f"T={temp},top_k={top_k}"] = accs
    print(temp, top_k, accs, flush=True)
json.dump(out, open("results/sampling_sweep_val.json", "w"), indent=1)
