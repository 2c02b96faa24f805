import random
from collections import Counter

import numpy as np
import pytest
import torch

from motiongpt.config import ConfigError
from motiongpt.data.labels import MotionLabel
from motiongpt.lm.data import (INSTRUCT_TASKS, CaptionNoise, LMDataset, balanced_order, length_crop, length_extend,
                               load_items)
from motiongpt.lm.model import MotionLM
from motiongpt.lm.templates import LMSample, tasks_for
from motiongpt.paths import REPO_ROOT
from motiongpt.train import lm as train_lm

CAPS = ["a person walks forward", "someone waves the right hand", "a man runs in a circle", "the person bows"]


@pytest.fixture()
def tiny_data(tmp_path):
    """Twelve motions in HumanML3D layout with cached token ids (codebook 16)."""
    root, tokens = tmp_path / "data", tmp_path / "data" / "tokens" / "vq"
    for sub in ("new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True)
    tokens.mkdir(parents=True)
    rng = np.random.default_rng(0)
    ids = [f"{i:03d}" for i in range(12)]
    for i, mid in enumerate(ids):
        frames = int(rng.integers(40, 90))
        np.save(root / "new_joint_vecs" / f"{mid}.npy", np.zeros((frames, 263), np.float32))
        np.save(tokens / f"{mid}.npy", rng.integers(0, 16, frames // 4))
        words = " ".join(f"{w}/NOUN" for w in CAPS[i % 4].split())
        (root / "texts" / f"{mid}.txt").write_text(f"{CAPS[i % 4]}#{words}#0.0#0.0\n"
                                                   f"{CAPS[(i + 1) % 4]}#{words}#0.5#1.5\n")
    (root / "train.txt").write_text("\n".join(ids[:10]) + "\n")
    (root / "val.txt").write_text("\n".join(ids[10:]) + "\n")
    return root, tokens


def test_dataset_draws_examples_for_every_task(tiny_data, vocab):
    root, tokens = tiny_data
    items = load_items(root, tokens, "train", 16)
    assert len(items) == 10
    ds = LMDataset(root, tokens, "train", tasks_for(INSTRUCT_TASKS), vocab, items=items)
    seen = {ds.example(i % len(ds), random.Random(i)).task for i in range(300)}
    assert seen == set(INSTRUCT_TASKS)


def test_bad_token_cache_is_reported(tiny_data):
    root, tokens = tiny_data
    np.save(tokens / "000.npy", np.array([99]))
    with pytest.raises(ValueError, match="000.npy.*codebook size 16"):
        load_items(root, tokens, "train", 16)


def test_train_pretrain_then_instruct_and_resume(tiny_data, tmp_path, capsys):
    root, tokens = tiny_data
    common = ["--config", str(REPO_ROOT / "configs" / "lm" / "tiny.yaml"), "--data", str(root), "--tokens", str(tokens),
              "data.codebook_size=16", "trainer.batch_size=4", "data.val_examples=4"]
    pre = tmp_path / "pre"
    assert train_lm.main(["--stage", "pretrain", "--run-dir", str(pre), *common,
                          "trainer.schedule.max_steps=6", "trainer.checkpoint.every_steps=3"]) == 0
    lm = MotionLM.from_pretrained(pre / "export" / "last")
    assert lm.vocab.codebook_size == 16 and (pre / "export" / "best").is_dir()
    assert train_lm.main(["--stage", "pretrain", "--run-dir", str(pre), "--resume", *common,
                          "trainer.schedule.max_steps=8"]) == 0
    assert "step 8" in capsys.readouterr().out
    inst = tmp_path / "inst"
    assert train_lm.main(["--stage", "instruct", "--init", str(pre / "export" / "last"), "--run-dir", str(inst),
                          *common, "trainer.schedule.max_steps=4"]) == 0
    assert MotionLM.from_pretrained(inst / "export" / "last").vocab.metadata() == lm.vocab.metadata()


def test_cli_errors_are_clear(tiny_data, tmp_path, capsys):
    root, tokens = tiny_data
    assert train_lm.main(["--data", str(root), "--run-dir", str(tmp_path / "x")]) == 2
    assert "data.tokens" in capsys.readouterr().err
    assert train_lm.main(["--config", "nope.yaml"]) == 2
    assert train_lm.main(["--tokens", str(root), "--data", str(root), "model.presett=tiny"]) == 2
    assert "presett" in capsys.readouterr().err
    for bad, key in (("data.length_crop=0.7", "data.length_crop"), ("data.length_extend=0.5", "data.length_extend"),
                     ("model.input_corruption=-0.1", "model.input_corruption")):
        assert train_lm.main(["--config", str(REPO_ROOT / "configs" / "lm" / "tiny.yaml"), "--data", str(root),
                              "--tokens", str(tokens), "--run-dir", str(tmp_path / "y"), "data.codebook_size=16", bad]) == 2
        assert f"{key}: must be in [0, 0.5)" in capsys.readouterr().err


def test_balanced_order_repeats_rare_labels_and_the_dataset_follows_it(tiny_data, vocab):
    root, tokens = tiny_data
    items = load_items(root, tokens, "train", 16)
    labels = {it.motion_id: MotionLabel("kick" if it.motion_id == "000" else "walk", "dataset-1") for it in items[:-1]}
    order = balanced_order(items, labels, 1.0)  # 1 kick, 8 walk, 1 unlabelled: each group drawn 8 times
    assert Counter(order) == Counter({0: 8, **{i: 1 for i in range(1, 9)}, 9: 8})
    ds = LMDataset(root, tokens, "train", tasks_for(INSTRUCT_TASKS), vocab, items=items, order=order)
    assert len(ds) == 24
    assert ds.example(0, random.Random(0)).task in INSTRUCT_TASKS
    with pytest.raises(ValueError, match="order indexes outside the 10 motions"):
        LMDataset(root, tokens, "train", tasks_for(INSTRUCT_TASKS), vocab, items=items, order=[10])


def test_balance_without_a_manifest_is_a_config_error(tiny_data):
    root, tokens = tiny_data
    cfg = train_lm.LMDataConfig(root=str(root), tokens=str(tokens), balance=0.5)
    with pytest.raises(ConfigError, match="data.balance: needs the action labels"):
        train_lm.training_order(cfg, load_items(root, tokens, "train", 16))


def test_task_weights_replace_the_template_weights_and_the_dataset_draws_by_them(tiny_data, vocab):
    root, tokens = tiny_data
    cfg = train_lm.LMDataConfig(tasks=["t2m", "m2t"], task_weights={"t2m": 9.0})
    tasks = train_lm.weighted_tasks(cfg)
    assert [(t.name, t.weight) for t in tasks] == [("t2m", 9.0), ("m2t", 1.0)]
    ds = LMDataset(root, tokens, "train", tasks, vocab)
    drawn = Counter(ds.example(i % len(ds), random.Random(i)).task for i in range(400))
    assert 0.83 < drawn["t2m"] / 400 < 0.97  # 9 : 1


@pytest.mark.parametrize("weights, match", [({"t2x": 2.0}, r"\['t2x'\] not among the stage's tasks"),
                                            ({"t2m": 0.0}, "weights must be > 0")])
def test_bad_task_weights_are_config_errors(weights, match):
    with pytest.raises(ConfigError, match=match):
        train_lm.weighted_tasks(train_lm.LMDataConfig(task_weights=weights))


def test_length_crop_keeps_a_contiguous_run_with_matching_frames_and_track():
    codes = torch.arange(40)
    sample = LMSample(codes, 163, "a person kicks", np.arange(163 * 3, dtype=np.float32).reshape(163, 3))
    rng, kept = random.Random(0), set()
    for _ in range(200):
        out = length_crop(sample, rng, 0.15)
        n, start = len(out.codes), int(out.codes[0])
        kept.add(n)
        assert 40 - 6 <= n <= 40 and out.codes.tolist() == list(range(start, start + n))
        if n < 40:
            assert out.frames == 4 * n and np.array_equal(out.track, sample.track[4 * start:4 * start + 4 * n])
        else:
            assert out is sample
    assert kept == set(range(34, 41))
    assert length_crop(sample, rng, 0.0) is sample


def test_dataset_crops_whole_motions_only_when_asked(tiny_data, vocab):
    root, tokens = tiny_data
    items = load_items(root, tokens, "train", 16)
    tasks = train_lm.weighted_tasks(train_lm.LMDataConfig(tasks=["t2m"]))
    lengths = {crop: {len(LMDataset(root, tokens, "train", tasks, vocab, items=items[:1], crop=crop)
                          .example(0, random.Random(i)).target_ids) for i in range(60)} for crop in (0.0, 0.3)}
    whole = len(items[0].codes[0]) + 3  # <som> codes <eom> </s>
    part = {n for n in lengths[0.0] if n != whole}  # the sub-range caption (0.5 s - 1.5 s)
    assert whole in lengths[0.0] and len(lengths[0.0]) <= 2
    assert len(lengths[0.3] - part) > 3 and max(lengths[0.3]) == whole
    with pytest.raises(ValueError, match="crop 0.5 is not in"):
        LMDataset(root, tokens, "train", tasks, vocab, items=items, crop=0.5)
    longer = {len(LMDataset(root, tokens, "train", tasks, vocab, items=items[:1], extend=0.3)
                  .example(0, random.Random(i)).target_ids) for i in range(60)}
    assert max(longer) > whole and min(longer - part) == whole


def test_length_extend_holds_the_end_tokens_and_track():
    sample = LMSample(torch.arange(5, 25), 83, "a person kicks", np.arange(83 * 3, dtype=np.float32).reshape(83, 3))
    rng, added = random.Random(0), set()
    for _ in range(200):
        out = length_extend(sample, rng, 0.2)
        k = len(out.codes) - 20
        added.add(k)
        if k == 0:
            assert out is sample
            continue
        before = int((out.codes == 5).sum()) - 1
        assert out.codes.tolist() == [5] * before + list(range(5, 25)) + [24] * (k - before)
        assert out.frames == 83 + 4 * k and len(out.track) == out.frames
        assert np.array_equal(out.track[4 * before:4 * before + 83], sample.track)
        assert (out.track[:4 * before] == sample.track[0]).all() and (out.track[4 * before + 83:] == sample.track[-1]).all()
    assert added == set(range(0, 5))


class _Spy:
    """A caption noise that records what it is given and marks what it returns."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, caption: str, motion_id: str, rng: random.Random) -> str:
        self.calls.append((caption, motion_id))
        return "zzz"


def test_caption_noise_touches_only_captions_the_task_reads(tiny_data, vocab):
    root, tokens = tiny_data
    spy = _Spy()
    ds = LMDataset(root, tokens, "train", tasks_for(["t2m", "m2t", "chat_followup_describe"]), vocab, noise=spy)
    drawn = Counter(ds.example(i % len(ds), random.Random(i)).task for i in range(200))
    assert len(spy.calls) == drawn["t2m"] > 0 and drawn["m2t"] > 0 and drawn["chat_followup_describe"] > 0
    assert {mid for _, mid in spy.calls} <= {it.motion_id for it in ds.items}


def test_caption_noise_rewrites_labelled_motions_only():
    noise = CaptionNoise(rewrite=1.0, typos=0.0, labels={"000": "kick"})
    rng = random.Random(0)
    assert noise("a person walks forward", "001", rng) == "a person walks forward"
    assert {noise("a person walks forward", "000", rng) for _ in range(20)} != {"a person walks forward"}
    typo = CaptionNoise(rewrite=0.0, typos=1.0)
    assert typo("a person walks forward", "001", rng) != "a person walks forward"


def test_caption_rewrite_without_a_manifest_is_a_config_error(tiny_data):
    root, tokens = tiny_data
    cfg = train_lm.LMDataConfig(root=str(root), tokens=str(tokens), caption_rewrite=0.3)
    with pytest.raises(ConfigError, match="data.caption_rewrite: needs the action labels"):
        train_lm.caption_noise(cfg)
    assert train_lm.caption_noise(train_lm.LMDataConfig(root=str(root), caption_typos=0.1)).labels is None
    assert train_lm.caption_noise(train_lm.LMDataConfig(root=str(root))) is None
