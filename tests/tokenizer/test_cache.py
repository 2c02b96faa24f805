"""`motiongpt tokenize`: one file per motion (mirrors included), matching encode(), skipping up-to-date files."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from motiongpt.data.layout import MotionDir
from motiongpt.tokenizer.cache import default_name, main
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig


def _saved_tokenizer(root: Path, data: MotionDir) -> Path:
    torch.manual_seed(0)
    tok = MotionTokenizer(TokenizerConfig(codebook_size=16, code_dim=8, width=16, depth=2), data.mean, data.std)
    tok.train()
    tok.quantizer(torch.randn(64, 8))
    tok.save_pretrained(root / "run" / "tokenizer" / "best")
    return root / "run" / "tokenizer" / "best"


def test_tokenize_caches_every_motion(tiny_motion_dir, tmp_path, capsys):
    data = MotionDir(tiny_motion_dir)
    feats = data.features("train000")
    np.save(tiny_motion_dir / "new_joint_vecs" / "Mtrain000.npy", feats[::-1].copy())  # a mirror id
    np.save(tiny_motion_dir / "new_joint_vecs" / "short.npy", feats[:3])
    tok_dir = _saved_tokenizer(tmp_path, data)
    assert default_name(tok_dir) == "run-best"
    assert main(["--tokenizer", str(tok_dir), "--data", str(tiny_motion_dir), "--batch-size", "3"]) == 0
    out = tiny_motion_dir / "tokens" / "run-best"
    files = sorted(p.stem for p in out.glob("*.npy"))
    assert len(files) == 9 and "Mtrain000" in files and "short" not in files
    ids = np.load(out / "train002.npy")
    assert ids.dtype == np.int16 and ids.shape == (40 // 4,)
    tok = MotionTokenizer.from_pretrained(tok_dir)
    expected = tok.encode(torch.from_numpy(data.features("train002"))[None])[0]
    assert np.array_equal(ids, expected.numpy())
    assert "9 written" in capsys.readouterr().out

    stamp = (out / "train002.npy").stat().st_mtime_ns
    os.utime(tiny_motion_dir / "new_joint_vecs" / "val000.npy")  # touched: only this one is redone
    assert main(["--tokenizer", str(tok_dir), "--data", str(tiny_motion_dir)]) == 0
    assert "1 written, 8 up to date, 1 too short" in capsys.readouterr().out
    assert (out / "train002.npy").stat().st_mtime_ns == stamp


def test_missing_tokenizer_is_a_clear_error(tiny_motion_dir, tmp_path, capsys):
    assert main(["--tokenizer", str(tmp_path / "none"), "--data", str(tiny_motion_dir)]) == 2
    assert "config.json is missing" in capsys.readouterr().err


def test_offsets_cache_every_shift_of_the_token_grid(tiny_motion_dir, tmp_path, capsys):
    data = MotionDir(tiny_motion_dir)
    tok_dir = _saved_tokenizer(tmp_path, data)
    out = tmp_path / "off"
    assert main(["--tokenizer", str(tok_dir), "--data", str(tiny_motion_dir), "--out", str(out), "--offsets", "3"]) == 0
    ids = np.load(out / "train002.npy")
    feats = torch.from_numpy(data.features("train002"))
    tok = MotionTokenizer.from_pretrained(tok_dir)
    expected = [tok.encode(feats[k:][None])[0] for k in range(3)]
    n = min(len(e) for e in expected)
    assert ids.shape == (3, n) and all(np.array_equal(ids[k], expected[k][:n].numpy()) for k in range(3))
    assert main(["--tokenizer", str(tok_dir), "--data", str(tiny_motion_dir), "--out", str(out), "--offsets", "5",
                 "--force"]) == 2
    assert "offsets: 5 is not in [1, 4]" in capsys.readouterr().err
