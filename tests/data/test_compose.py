"""`motiongpt data compose`: joined train clips, smooth seams, "X, then Y" captions, split file, idempotence."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motiongpt.data.compose import (
    ComposeConfig, compose_dataset, gerund, join_features, join_caption, main, simple_present, split_subject,
)
from motiongpt.data.layout import MotionDir

CONTENTS = ("walk", "kick", "bow", "run", "wave-left-hand")


def sinusoid_clip(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(frames, 263) smooth features of similar range (random phase and frequency per channel), binary contacts."""
    t = np.arange(frames)[:, None]
    feats = np.sin(rng.uniform(0.3, 0.5, (1, 263)) * t + rng.uniform(0, 2 * np.pi, (1, 263))).astype(np.float32)
    feats[:, -4:] = feats[:, -4:] > 0
    return feats


def make_dataset(root: Path) -> Path:
    """Five train clips of different contents (+ mirrors) whose captions carry a marker word per motion."""
    rng = np.random.default_rng(0)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    motions, train = {}, []
    for n, content in enumerate(CONTENTS):
        mid = f"{n:06d}"
        motions[mid] = {"clip": f"dataset-1_{content}_normal_{n:03d}"}
        for out_id in (mid, f"M{mid}"):
            frames = int(rng.integers(60, 150))
            np.save(root / "new_joint_vecs" / f"{out_id}.npy", sinusoid_clip(rng, frames))
            np.save(root / "new_joints" / f"{out_id}.npy", np.zeros((frames, 22, 3), np.float32))
            marker = f"mark{out_id.lower()}"
            lines = [f"a man moves toward {marker} with his arms.#a/DET man/NOUN move/VERB#0.0#0.0",
                     f"calmly, someone goes {marker}.#calmly/ADV someone/PRON go/VERB#0.0#0.0",
                     f"a quick {marker}.#a/DET quick/ADJ#0.0#0.0"]
            (root / "texts" / f"{out_id}.txt").write_text("\n".join(lines) + "\n")
            train.append(out_id)
    (root / "train.txt").write_text("\n".join(train) + "\n")
    (root / "test.txt").write_text("")
    (root / "manifest.json").write_text(json.dumps({"motions": motions}))
    return root


@pytest.fixture
def composed(tmp_path: Path) -> Path:
    root = make_dataset(tmp_path / "ds")
    compose_dataset(root, ComposeConfig(count=12, seed=3))
    return root


def test_composed_lengths_parts_and_split(composed: Path) -> None:
    manifest = json.loads((composed / "manifest.json").read_text())["composed"]
    data = MotionDir(composed)
    ids = data.ids("train_composed")
    assert ids == [f"C{i:05d}" for i in range(12)] and set(ids) == set(manifest["motions"])
    assert not set(ids) & set(data.ids("train"))
    blend = manifest["config"]["blend"]
    for mid in ids:
        parts = manifest["motions"][mid]["parts"]
        lengths = [p["last"] - p["first"] for p in parts]
        assert len(parts) in (2, 3) and all(40 <= n <= 90 for n in lengths)
        assert len({p["content"] for p in parts}) == len(parts)
        frames = data.features(mid).shape[0]
        assert frames == sum(lengths) - (len(parts) - 1) * blend <= 196
        assert data.joints(mid).shape == (frames, 22, 3)
        assert set(np.unique(data.features(mid)[:, -4:])) <= {0.0, 1.0}  # foot contacts stay binary


def test_captions_name_every_part_once(composed: Path) -> None:
    manifest = json.loads((composed / "manifest.json").read_text())["composed"]
    data = MotionDir(composed)
    for mid, record in manifest["motions"].items():
        caps = data.captions(mid)
        assert 6 <= len(caps) <= 10 and len({c.text for c in caps}) == len(caps)
        for cap in caps:
            positions = [cap.text.find(f"mark{p['motion_id'].lower()}") for p in record["parts"]]
            assert all(i >= 0 for i in positions) and positions == sorted(positions), cap.text  # in order
            subjects = sum(cap.text.count(s) for s in ("a man ", "someone "))
            assert subjects == 1, cap.text


def test_seam_is_no_jumpier_than_the_clips() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = sinusoid_clip(rng, 60), sinusoid_clip(rng, 70)
        out = join_features([a, b], 10)
        jumps = np.linalg.norm(np.diff(out[:, :-4], axis=0), axis=1)
        within = max(np.linalg.norm(np.diff(x[:, :-4], axis=0), axis=1).max() for x in (a, b))
        assert out.shape == (120, 263)
        assert jumps[48:62].max() <= within * (1 + 1e-5)
        assert np.linalg.norm(b[0, :-4] - a[-1, :-4]) > within  # plain concatenation would jump


def test_compose_is_idempotent_and_drops_stale(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds")
    compose_dataset(root, ComposeConfig(count=6, seed=0))

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("C*") if p.is_file()}

    first = snapshot()
    compose_dataset(root, ComposeConfig(count=6, seed=0))
    assert snapshot() == first and len(first) == 18
    assert main([str(root), "--count", "4", "--seed", "0"]) == 0
    assert sorted(p.stem for p in (root / "new_joint_vecs").glob("C*")) == [f"C{i:05d}" for i in range(4)]
    assert {k: v for k, v in first.items() if any(f"C{i:05d}" in k for i in range(4))} == snapshot()


def test_caption_grammar_helpers() -> None:
    assert split_subject("a manly figure walks forward.") == (("a manly figure", "their"), "walks forward")
    assert split_subject("a quick jog forward.") is None
    assert gerund("slowly raises his left hand and waves") == "slowly raising his left hand and waving"
    assert gerund("is jogging ahead") == "jogging ahead"
    assert simple_present("is calmly walking forward and turning left") == "calmly walks forward and turns left"
    import random

    rng = random.Random(0)
    texts = {join_caption(("a woman", "her"), ["walks forward", "waves his right hand"], rng) for _ in range(60)}
    assert all(t.count("a woman") == 1 and "his" not in t and "her right hand" in t for t in texts)
    assert len(texts) >= 6


def test_lm_items_load_a_joined_split_list(composed: Path) -> None:
    from motiongpt.lm.data import load_items

    tokens = composed / "tokens"
    tokens.mkdir()
    for path in (composed / "new_joint_vecs").glob("*.npy"):
        np.save(tokens / path.name, np.zeros(np.load(path).shape[0] // 4, np.int16))
    items = load_items(composed, tokens, "train+train_composed", 512)
    assert len(items) == 10 + 12 and sum(i.motion_id.startswith("C") for i in items) == 12
