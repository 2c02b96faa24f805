"""Why is one action label generated badly? Separates the motion tokenizer, the recogniser and the language model.

For the label's TRAINING takes (mirrors included): the recogniser's label of the real take and of its VQ-VAE
reconstruction, the reconstruction's root-relative MPJPE and the highest foot point (m above the lowest) of real
and reconstruction. For motions generated from the takes' training captions (guidance 3, T 0.7, the label's
median length): the recogniser's labels and the training take nearest to each generation in token edit distance
(normalised Levenshtein over every labelled training take of the canonical token cache). A generation whose
nearest take is of the label but which the recogniser calls something else points at the tokenizer or the
recogniser, not at the language model. A diagnostic, not a benchmark (training captions).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/label_diagnosis.py kick --out results/label_diagnosis_kick.json
"""
import argparse
import json
from collections import Counter

import numpy as np
import torch

from guidance_sweep import generate_and_recognise
from motiongpt.data.layout import MotionDir
from motiongpt.eval.actions import build_setup, clips_by_label, recognise
from motiongpt.eval.recognizer import ActionRecognizer
from motiongpt.eval.recon import mpjpe, reconstruct
from motiongpt.lm.pipeline import Pipeline
from motiongpt.motion.features import features_to_joints
from motiongpt.utils import atomic_write_text

FOOT_JOINTS = (7, 8, 10, 11)  # ankles and toes of the 22-joint SMPL skeleton


def edit_distance(a: list[int], b: list[int]) -> float:
    """Levenshtein distance of two token sequences divided by the longer length (0 same, 1 nothing shared)."""
    row = np.arange(len(b) + 1)
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return float(row[-1]) / max(len(a), len(b), 1)


def foot_peak(features: np.ndarray) -> float:
    """Highest foot joint above the motion's lowest foot point (m)."""
    feet = np.asarray(features_to_joints(features))[:, FOOT_JOINTS, 1]
    return float(feet.max() - feet.min())


def joints(recon: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions of a reconstruction and of the real motion cut to its length."""
    return np.asarray(features_to_joints(recon)), np.asarray(features_to_joints(real[: len(recon)]))


def takes_report(pipe: Pipeline, setup, ids: list[str]) -> list[dict]:
    """Per training take: recogniser on real / reconstruction, reconstruction error and foot peaks."""
    real = [setup.data.features(m) for m in ids]
    recon, _ = reconstruct(pipe.tokenizer, real)
    labels_real, labels_recon = recognise(setup.recognizer, real), recognise(setup.recognizer, recon)
    return [{"take": m, "recogniser_real": lr, "recogniser_recon": lv, "recon_mpjpe_mm": round(mpjpe(*joints(b, a)), 1),
             "foot_peak_real_m": round(foot_peak(a), 3), "foot_peak_recon_m": round(foot_peak(b), 3)}
            for m, a, b, lr, lv in zip(ids, real, recon, labels_real, labels_recon)]


def generations_report(pipe: Pipeline, setup, label: str, ids: list[str], tokens: str, seed: int) -> dict:
    """Recogniser labels and nearest training takes of motions generated from the takes' training captions."""
    texts = [c.text for m in ids for c in setup.data.captions(m)]
    results, predicted = generate_and_recognise(pipe, setup, texts, [label] * len(texts), seed, temperature=0.7,
                                                guidance=3.0)
    bank = [(lab, m, np.load(f"{tokens}/{m}.npy").reshape(-1).tolist())
            for lab, takes in clips_by_label(setup.data, "train", setup.labels).items() for m in takes]
    nearest = [min(bank, key=lambda b: edit_distance([int(t) for t in r.tokens], b[2])) if r.ok else None
               for r in results]
    return {"captions": len(texts), "recogniser": dict(Counter(map(str, predicted)).most_common()),
            "nearest_take_label": dict(Counter(n[0] if n else "failed" for n in nearest).most_common()),
            "nearest_take": dict(Counter(n[1] if n else "failed" for n in nearest).most_common()),
            "foot_peak_m_mean": round(float(np.mean([foot_peak(r.features) for r in results if r.ok])), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("label")
    p.add_argument("--model", default="checkpoints/default")
    p.add_argument("--data", default="data/bandai")
    p.add_argument("--tokens", default="data/bandai/tokens/vq_cpu", help="canonical token cache of the training takes")
    p.add_argument("--max-takes", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    pipe = Pipeline.from_pretrained(args.model, device="cpu")
    setup = build_setup(ActionRecognizer.from_pretrained(f"{args.model}/recognizer"), MotionDir(args.data), "train",
                        baselines=False)
    ids = clips_by_label(setup.data, "train", setup.labels).get(args.label, [])[: args.max_takes]
    if not ids:
        raise SystemExit(f"label_diagnosis: no training take of label {args.label!r} in {args.data}")
    out = {"command": f"python scripts/label_diagnosis.py {args.label} --model {args.model} --seed {args.seed}",
           "label": args.label, "takes": takes_report(pipe, setup, ids),
           "generated": generations_report(pipe, setup, args.label, ids, args.tokens, args.seed)}
    print(json.dumps(out, indent=1))
    if args.out:
        atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
