"""Per-label action accuracy of motions generated from TRAINING captions (12 per label, guidance as given, T=0.7):
separates "cannot generate the action" from "does not understand the wording" (diagnostic, not a benchmark).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_caption_actions.py checkpoints/default 3.0 1   # model guidance threads
"""
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from guidance_sweep import generate_and_recognise  # noqa: E402
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, clips_by_label, score
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline


def main() -> None:
    model, g = sys.argv[1], float(sys.argv[2])
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    pipe = Pipeline.from_pretrained(model, device="cpu")
    setup = build_setup(ActionRecognizer.from_pretrained(f"{model}/recognizer"), MotionDir("data/bandai"), "train", baselines=False)
    rng = np.random.default_rng(0)
    caps = []
    for label, ids in clips_by_label(setup.data, "train", setup.labels).items():
        if label not in setup.judgeable:
            continue
        c = [(x.text, label) for mid in ids for x in setup.data.captions(mid)]
        caps += [c[i] for i in rng.permutation(len(c))[:12]]
    texts, truth = [c for c, _ in caps], [lab for _, lab in caps]
    _, pred = generate_and_recognise(pipe, setup, texts, truth, 0, temperature=0.7, guidance=g)
    per = defaultdict(list)
    for t, p in zip(truth, pred):
        per[t].append(t == p)
    print(model, g, score(truth, pred))
    print(" ".join(f"{k}:{np.mean(v):.2f}" for k, v in sorted(per.items(), key=lambda kv: np.mean(kv[1]))))


if __name__ == "__main__":
    main()
