"""Action recogniser: mirrored labels from the manifest, training on synthetic clips, save/load, file errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.data import labels as L
from motiongpt.eval import recognizer as R
from motiongpt.train import recognizer as T

CONTENTS = ("walk", "wave-left-hand", "run", "raise-up-right-hand")


def write_labelled_dataset(root: Path, per_content: int = 6, frames: int = 48, seed: int = 0) -> Path:
    """Originals + mirrors in HumanML3D layout with a Bandai manifest; features encode the (mirrored) label."""
    rng = np.random.default_rng(seed)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    motions, splits = {}, {"train": [], "val": [], "test": []}
    for i in range(per_content * len(CONTENTS)):
        content, mid = CONTENTS[i % len(CONTENTS)], f"{i:06d}"
        split = ("train", "train", "val", "test")[(i // len(CONTENTS)) % 4]
        motions[mid] = {"clip": f"dataset-2_{content}_normal_{i:03d}", "split": split}
        for one, label in ((mid, content), ("M" + mid, L.mirror_label(content))):
            feats = rng.normal(size=(frames + int(rng.integers(0, 16)), 263)).astype(np.float32) * 0.1
            feats[:, 10 * R.LABELS.index(label):10 * R.LABELS.index(label) + 10] += 1.0
            np.save(root / "new_joint_vecs" / f"{one}.npy", feats)
            (root / "texts" / f"{one}.txt").write_text(f"a person does {label}#a/DET person/NOUN#0.0#0.0\n"
                                                       f"someone performs {label}#someone/PRON#0.0#0.0\n")
            splits[split].append(one)
    for split, ids in splits.items():
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    (root / "manifest.json").write_text(json.dumps({"motions": motions}))
    return root


@pytest.fixture
def labelled(tmp_path) -> MotionDir:
    return MotionDir(write_labelled_dataset(tmp_path / "data"))


def _tiny(data: MotionDir) -> R.ActionRecognizer:
    torch.manual_seed(0)
    return R.build_recognizer(R.RecognizerConfig(width=8, kernel=3, layers=2, dropout=0.0), data)


def test_mirrored_labels(labelled):
    pairs = {"wave-left-hand": "wave-right-hand", "walk-turn-left": "walk-turn-right",
             "raise-up-left-hand": "raise-up-right-hand", "walk-left": "walk-right"}
    for a, b in pairs.items():
        assert L.mirror_label(a) == b and L.mirror_label(b) == a
    assert [L.mirror_label(x) for x in ("walk", "bow", "wave-both-hands")] == ["walk", "bow", "wave-both-hands"]
    labels = L.read_motion_labels(labelled)
    assert labels["000001"] == L.MotionLabel("wave-left-hand", "dataset-2")
    assert L.label_of(labels, "M000001") == "wave-right-hand" and L.label_of(labels, "M000000") == "walk"
    assert len(R.LABELS) == 25
    with pytest.raises(KeyError, match="M999999"):
        L.label_of(labels, "M999999")


def test_manifest_errors(tmp_path, labelled):
    (labelled.root / "manifest.json").write_text('{"motions": {"000000": {"clip": "walk_001"}}}')
    with pytest.raises(ValueError, match=r"manifest.json: motions\['000000'\].clip"):
        L.read_motion_labels(labelled)
    (labelled.root / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="manifest.json: not found"):
        L.read_motion_labels(labelled)


def test_train_cli_learns_and_exports(labelled, tmp_path):
    run = tmp_path / "run"
    argv = ["--data", str(labelled.root), "--run-dir", str(run), "model.width=16", "model.kernel=3",
            "trainer.batch_size=16", "trainer.schedule.max_steps=40", "trainer.optim.lr=3e-3",
            "trainer.logging.progress=false", "trainer.logging.tensorboard=false", "trainer.logging.eval_every_steps=20"]
    assert T.main(argv) == 0
    model = R.ActionRecognizer.from_pretrained(run / "export" / "best")
    assert model.labels == list(R.LABELS)
    report = R.evaluate_split(model, labelled, "test")
    assert report["clips"] == 8 and report["accuracy"] >= 0.9  # 4 originals + mirrors; chance 1/6
    assert set(report["per_set"]) == {"dataset-2"} and np.asarray(report["confusion"]).sum() == 8
    assert "| true \\ predicted |" in R.report_markdown(report)


def test_crops_and_class_weights(labelled):
    clips = T.LabelledClips(labelled, "train", R.LABELS, min_crop=40, generator=torch.Generator().manual_seed(1))
    lengths = {clips[0][0].shape[0] for _ in range(20)}
    assert min(lengths) >= 40 and len(lengths) > 1  # random crop lengths, never under min_crop
    w = T.class_weights(np.array([0, 0, 0, 1]), 3, power=1.0)
    assert w.tolist() == pytest.approx([0.5, 1.5, 0.0])  # (1/3, 1) / their mean 2/3; absent class 0


def test_predict_list_equals_batch_and_padding_is_ignored(labelled):
    model = _tiny(labelled).eval()
    feats = [labelled.features(m) for m in labelled.ids("test")[:3]]
    by_list = model.predict(feats)
    x, lens = torch.zeros(3, 80, 263), torch.tensor([f.shape[0] for f in feats])
    for i, f in enumerate(feats):
        x[i, : len(f)] = torch.from_numpy(f)
    by_batch = model.predict(x, lens)
    alone = np.concatenate([model.predict([f]).probs for f in feats])
    np.testing.assert_allclose(by_list.probs, alone, atol=1e-5)
    np.testing.assert_allclose(by_batch.probs, alone, atol=1e-5)
    assert by_list.probs.shape == (3, 25) and np.allclose(by_list.probs.sum(1), 1.0)


def test_save_load_round_trip(labelled, tmp_path):
    model = _tiny(labelled).eval()
    model.save_pretrained(tmp_path / "fp32")
    back = R.ActionRecognizer.from_pretrained(tmp_path / "fp32")
    for k, v in model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k
    feats = [labelled.features(m) for m in labelled.ids("val")]
    assert np.array_equal(model.predict(feats).probs, back.predict(feats).probs)
    model.save_pretrained(tmp_path / "fp16", half=True)
    half = R.ActionRecognizer.from_pretrained(tmp_path / "fp16")
    assert torch.equal(half.std, model.std)  # input statistics stay float32
    np.testing.assert_allclose(half.predict(feats).probs, model.predict(feats).probs, atol=2e-3)


def _one_line(err: pytest.ExceptionInfo, where: str) -> None:
    assert "\n" not in str(err.value) and where in str(err.value)


def test_bad_files_one_line_errors(labelled, tmp_path):
    good = tmp_path / "rec"
    _tiny(labelled).save_pretrained(good)
    with pytest.raises(FileNotFoundError) as err:
        R.ActionRecognizer.from_pretrained(tmp_path / "missing")
    _one_line(err, "config.json: not found")
    config = (good / "config.json").read_text()
    (good / "config.json").write_text(config[: len(config) // 2])
    with pytest.raises(ValueError) as err:
        R.ActionRecognizer.from_pretrained(good)
    _one_line(err, "config.json: not valid JSON")
    meta = json.loads(config)
    for change, match in (({"kind": "t2m"}, "expected 'action_recognizer'"),
                          ({"config": {**meta["config"], "widht": 8}}, "config.widht"),
                          ({"labels": "walk"}, "labels must be")):
        (good / "config.json").write_text(json.dumps({**meta, **change}))
        with pytest.raises(ValueError) as err:
            R.ActionRecognizer.from_pretrained(good)
        _one_line(err, match)
    (good / "config.json").write_text(json.dumps({**meta, "labels": meta["labels"][:3]}))
    with pytest.raises(ValueError) as err:
        R.ActionRecognizer.from_pretrained(good)
    _one_line(err, "model.safetensors: does not match config.json")
    (good / "config.json").write_text(config)
    weights = (good / "model.safetensors").read_bytes()
    (good / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError) as err:
        R.ActionRecognizer.from_pretrained(good)
    _one_line(err, "model.safetensors: unreadable")
    (good / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError) as err:
        R.ActionRecognizer.from_pretrained(good)
    _one_line(err, "model.safetensors: not found")
