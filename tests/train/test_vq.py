"""`motiongpt train vq` end to end on a tiny dataset: checkpoints, exports, exact resume, CLI errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motiongpt.tokenizer.vqvae import MotionTokenizer
from motiongpt.train.engine import latest_checkpoint
from motiongpt.train.vq import main

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
