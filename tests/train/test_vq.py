"""`motiongpt train vq` end to end on a tiny dataset: checkpoints, exports, exact resume, decoder fine-tuning with
frozen codes, label balancing, CLI errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.tokenizer.vqvae import MotionTokenizer
from motiongpt.train.engine import latest_checkpoint
from motiongpt.train.vq import balanced_ids, main

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "vq" / "tiny.yaml")


def _tb_free(run_dir) -> list[str]:
    return ["--config", TINY, "--run-dir", str(run_dir)]


def test_train_vq_writes_checkpoints_and_tokenizers(tiny_motion_dir, tmp_path):
    run = tmp_path / "run"
    assert main(_tb_free(run) + ["--data", str(tiny_motion_dir)]) == 0
    ckpt = latest_checkpoint(run)
    assert ckpt.name == "step_00000004" and (ckpt / "config.yaml").is_file()
    tok = MotionTokenizer.from_pretrained(run / "tokenizer" / "best")
    assert tok.codebook_size == 16 and (run / "tokenizer" / "last" / "model.safetensors").is_file()
    state = json.loads((ckpt / "state.json").read_text())
    assert state["best_metric"] == "mpjpe_mm" and state["best"] > 0


def test_resume_continues_the_same_run(tiny_motion_dir, tmp_path):
    base = ["--data", str(tiny_motion_dir)]
    assert main(_tb_free(tmp_path / "full") + base + ["trainer.schedule.max_steps=6"]) == 0
    assert main(_tb_free(tmp_path / "cut") + base + ["trainer.schedule.max_steps=3"]) == 0
    assert main(_tb_free(tmp_path / "cut") + base + ["trainer.schedule.max_steps=6", "--resume"]) == 0
    full = (latest_checkpoint(tmp_path / "full") / "model.safetensors").read_bytes()
    cut = (latest_checkpoint(tmp_path / "cut") / "model.safetensors").read_bytes()
    assert full == cut


def test_bad_override_is_a_clear_error(tiny_motion_dir, tmp_path, capsys):
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir), "model.codebok_size=8"]) == 2
    assert "did you mean 'model.codebook_size'" in capsys.readouterr().err


def test_nan_in_training_data_names_the_motion_file(tiny_motion_dir, tmp_path, capsys):
    bad = tiny_motion_dir / "new_joint_vecs" / "train002.npy"
    feats = np.load(bad)
    feats[5, 7] = np.nan
    np.save(bad, feats)
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"{bad}: NaN or infinite values (first at frame 5)")


@pytest.mark.parametrize("override, key", [("trainer.schedule.max_steps=-5", "trainer.schedule.max_steps"),
                                           ("model.codebook_size=0", "model.codebook_size"),
                                           ("trainer.device=quantum", "trainer.device")])
def test_out_of_range_settings_are_refused_before_training(tiny_motion_dir, tmp_path, capsys, override, key):
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir), override]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"motiongpt train vq: error: {key}: ") and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_decoder_fine_tuning_keeps_every_token_id(tiny_motion_dir, tmp_path):
    base = ["--data", str(tiny_motion_dir)]
    assert main(_tb_free(tmp_path / "full") + base) == 0
    start = tmp_path / "full" / "tokenizer" / "last"
    assert main(_tb_free(tmp_path / "dec") + base + ["--init", str(start), "train=decoder",
                                                     "trainer.optim.lr=0.01"]) == 0
    old, new = MotionTokenizer.from_pretrained(start), MotionTokenizer.from_pretrained(tmp_path / "dec" / "tokenizer" / "last")
    motions = [torch.from_numpy(np.load(p))[None] for p in sorted((tiny_motion_dir / "new_joint_vecs").glob("*.npy"))]
    assert all(torch.equal(a, b) for m in motions for a, b in zip(old.encode(m), new.encode(m)))
    changed = {k.split(".")[0] for k, v in new.state_dict().items() if not torch.equal(v, old.state_dict()[k])}
    assert changed == {"decoder"}


def test_decoder_fine_tuning_needs_init(tiny_motion_dir, tmp_path, capsys):
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir), "train=decoder"]) == 2
    assert "train: decoder needs --init" in capsys.readouterr().err


def test_init_with_another_datasets_normaliser_is_refused(tiny_motion_dir, tmp_path, capsys):
    assert main(_tb_free(tmp_path / "full") + ["--data", str(tiny_motion_dir)]) == 0
    np.save(tiny_motion_dir / "Std.npy", 2 * np.load(tiny_motion_dir / "Std.npy"))
    start = tmp_path / "full" / "tokenizer" / "last"
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir), "--init", str(start)]) == 2
    assert "its normaliser differs from" in capsys.readouterr().err


def test_balanced_ids_repeat_the_motions_of_rare_labels(tmp_path):
    root = tmp_path / "d"
    (root / "new_joint_vecs").mkdir(parents=True)
    clips = {"000000": "dataset-1_kick_normal_001", "000001": "dataset-2_walk_normal_001",
             "000002": "dataset-2_walk_tired_002", "000003": "dataset-2_walk_happy_003"}
    (root / "manifest.json").write_text(json.dumps({"motions": {m: {"clip": c} for m, c in clips.items()}}))
    ids = ["000000", "000001", "000002", "000003", "composed_1"]
    out = balanced_ids(MotionDir(root), ids, 1.0)
    assert out.count("000000") == 3 and out.count("000001") == 1 and out.count("composed_1") == 3
    assert balanced_ids(MotionDir(root), ids, 0.0) == ids


def test_balance_without_a_manifest_is_a_clear_error(tiny_motion_dir, tmp_path, capsys):
    assert main(_tb_free(tmp_path / "r") + ["--data", str(tiny_motion_dir), "data.balance=1.0"]) == 2
    assert "data.balance: needs the action labels" in capsys.readouterr().err
