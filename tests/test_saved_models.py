"""Broken saved models fail with one line naming the file: empty or truncated model.safetensors, and a model
config whose width no longer fits the weights (tokenizer, LM, evaluator loaders; the shipped default model)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from motiongpt.utils import WeightsError

DEFAULT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
WIDTH_KEY = {"lm": ("d_model",), "tokenizer": ("width",), "evaluator": ("config", "dim_text_hidden")}


def _load(kind: str, path: Path) -> None:
    if kind == "lm":
        from motiongpt.lm.model import MotionLM

        MotionLM.from_pretrained(path)
    elif kind == "tokenizer":
        from motiongpt.tokenizer import MotionTokenizer

        MotionTokenizer.from_pretrained(path)
    else:
        from motiongpt.eval.evaluator import load_evaluator

        load_evaluator(path)


def _copy(kind: str, tmp_path: Path) -> Path:
    if not (DEFAULT / kind).is_dir():
        pytest.skip(f"default model not found: {DEFAULT / kind}")
    out = tmp_path / kind
    shutil.copytree(DEFAULT / kind, out, ignore=shutil.ignore_patterns("model.safetensors"))
    return out


@pytest.mark.parametrize("kind", sorted(WIDTH_KEY))
@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_unreadable_weights_name_the_file(kind: str, damage: str, tmp_path: Path) -> None:
    out = _copy(kind, tmp_path)
    data = (DEFAULT / kind / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"model\.safetensors: not a readable safetensors file") as err:
        _load(kind, out)
    assert str(out / "model.safetensors") in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kind", sorted(WIDTH_KEY))
def test_changed_width_names_the_file_and_parameter(kind: str, tmp_path: Path) -> None:
    out = _copy(kind, tmp_path)
    (out / "model.safetensors").symlink_to(DEFAULT / kind / "model.safetensors")
    config = json.loads((out / "config.json").read_text())
    *parents, leaf = WIDTH_KEY[kind]
    if kind == "lm" and "encoder" in config:  # an encoder-decoder (the default BERT2BERT) keeps widths per part
        parents, leaf = ["encoder"], "hidden_size"
    node = config
    for key in parents:
        node = node[key]
    node[leaf] = 2 * node[leaf]
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=r"model\.safetensors: parameter '[\w.]+' has shape") as err:
        _load(kind, out)
    assert "config changed" in str(err.value) and "\n" not in str(err.value)
