"""Action accuracy of motions generated from TRAINING captions of chosen labels at several lengths around each
label's median training length: tells a model that ties a rare action to the length of its only take (stage 3e
made the one 29-token kick from its own captions at 29 tokens but a punch at 30) from one that does not
(diagnostic, not a benchmark; 16 captions per label, guidance 3, T 0.7, seed 0).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/length_probe.py --model checkpoints/default --labels kick dash bye
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from guidance_sweep import generate_and_recognise  # noqa: E402
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, clips_by_label
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.lm.pipeline import Pipeline


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="checkpoints/default")
    p.add_argument("--data", default="data/bandai")
    p.add_argument("--labels", nargs="+", default=["kick", "dash", "bye", "guide", "punch", "call"])
    p.add_argument("--offsets", type=int, nargs="+", default=[-8, -4, 0, 4, 8], help="frames from the median")
    p.add_argument("--guidance", type=float, default=3.0)
    args = p.parse_args()
    torch.set_num_threads(1)
    pipe = Pipeline.from_pretrained(args.model, device="cpu")
    setup = build_setup(ActionRecognizer.from_pretrained(f"{args.model}/recognizer"), MotionDir(args.data), "train",
                        baselines=False)
    by_label = clips_by_label(setup.data, "train", setup.labels)
    print("label      median " + " ".join(f"{o:+5d}" for o in args.offsets), flush=True)
    for label in args.labels:
        texts = [c.text for m in by_label[label] for c in setup.data.captions(m)][:16]
        base, accs = setup.lengths[label], []
        for offset in args.offsets:
            setup.lengths[label] = base + offset
            _, pred = generate_and_recognise(pipe, setup, texts, [label] * len(texts), 0, temperature=0.7,
                                             guidance=args.guidance)
            accs.append(sum(x == label for x in pred) / len(texts))
        setup.lengths[label] = base
        print(f"{label:10s} {base:6d} " + " ".join(f"{a:5.2f}" for a in accs), flush=True)


if __name__ == "__main__":
    main()
