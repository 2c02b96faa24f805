"""Config loading: defaults -> YAML -> dotted overrides, type and range checks, saved JSON configs, one-line errors."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest
import yaml

from motiongpt.config import ConfigError, TrainerConfig, config_to_dict, load_config, load_saved_config, save_config
from motiongpt.tokenizer.vqvae import TokenizerConfig


@dataclass
class _Model:
    width: int = 8
    act: Literal["relu", "gelu"] = "relu"
    dims: tuple[int, ...] = (1, 2)
    scale: Optional[float] = None


@dataclass
class _Stage:
    model: _Model = field(default_factory=_Model)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tags: list[str] = field(default_factory=list)


def test_precedence_defaults_yaml_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"model": {"width": 16, "act": "gelu"}, "trainer": {"optim": {"lr": 1e-3}}}))
    cfg = load_config(_Stage, path, ["model.width=32", "trainer.optim.betas=[0.5,0.6]", "tags=[a,b]"])
    assert cfg.model.width == 32 and cfg.model.act == "gelu"
    assert cfg.trainer.optim.lr == pytest.approx(1e-3) and cfg.trainer.optim.betas == (0.5, 0.6)
    assert cfg.trainer.batch_size == TrainerConfig().batch_size
    assert cfg.tags == ["a", "b"]
    assert load_config(_Stage, None, ["model.dims=[3,4,5]", "model.scale=2"]).model.dims == (3, 4, 5)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.widht=3", "did you mean 'model.width'"),
        ("model.width=abc", "model.width: expected int"),
        ("model.width=true", "model.width: expected int"),
        ("model.act=tanh", "model.act: 'tanh' is not one of"),
        ("trainer.optim.betas=[0.9]", "trainer.optim.betas: expected 2 items"),
        ("model.scale=[1]", "model.scale"),
        ("model=3", "model: expected a mapping"),
        ("nokey", "bad override"),
    ],
)
def test_rejects_bad_overrides(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(_Stage, None, [override])


def test_round_trip_through_saved_yaml(tmp_path):
    cfg = load_config(_Stage, None, ["model.width=5", "trainer.schedule.decay=cosine"])
    save_config(cfg, tmp_path / "saved.yaml")
    again = load_config(_Stage, tmp_path / "saved.yaml")
    assert again == cfg
    assert config_to_dict(again)["model"]["dims"] == [1, 2]


def test_base_file_is_merged_key_by_key_and_overridden(tmp_path):
    (tmp_path / "parent.yaml").write_text(yaml.safe_dump(
        {"model": {"width": 16, "act": "gelu"}, "trainer": {"schedule": {"max_steps": 50, "warmup_steps": 5}}}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text("base: ../parent.yaml\nmodel: {width: 32}\n"
                                                 "trainer: {schedule: {max_steps: 70}}\n")
    cfg = load_config(_Stage, tmp_path / "sub" / "child.yaml", ["model.act=relu"])
    assert (cfg.model.width, cfg.model.act) == (32, "relu")
    assert (cfg.trainer.schedule.max_steps, cfg.trainer.schedule.warmup_steps) == (70, 5)


def test_base_cycles_and_bad_bases_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    (tmp_path / "c.yaml").write_text("base: [a.yaml]\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(_Stage, tmp_path / "a.yaml")
    with pytest.raises(ConfigError, match="base: expected a file name"):
        load_config(_Stage, tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match="not found"):
        load_config(_Stage, tmp_path / "d.yaml")


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(_Stage, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(_Stage, bad)


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.schedule.max_steps=-5", "trainer.schedule.max_steps: -5 is not >= 1"),
        ("trainer.schedule.max_steps=0", "trainer.schedule.max_steps: 0 is not >= 1"),
        ("trainer.device=quantum", "trainer.device: 'quantum' is not a device"),
        ("trainer.optim.lr=nan", "trainer.optim.lr: expected a finite float"),
        ("trainer.optim.lr=0", "trainer.optim.lr: 0.0 is not > 0"),
        ("trainer.optim.betas=[0.9,1.5]", "trainer.optim.betas[1]: 1.5 is not <= 1"),
        ("trainer.batch_size=0", "trainer.batch_size: 0 is not >= 1"),
        ("trainer.optim.grad_clip=-1", "trainer.optim.grad_clip: -1 matches none of"),
    ],
)
def test_rejects_out_of_range_values_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as err:
        load_config(_Stage, None, [override])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_accepts_real_devices(device):
    assert load_config(TrainerConfig, None, [f"device={device}"]).device == device


@dataclass
class _VQ:
    model: TokenizerConfig = field(default_factory=TokenizerConfig)


def test_codebook_size_zero_is_rejected():
    with pytest.raises(ConfigError, match=r"^model.codebook_size: 0 is not >= 1$"):
        load_config(_VQ, None, ["model.codebook_size=0"])


def test_saved_config_is_checked_and_errors_name_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"format": "f-1", "width": 4, "act": "gelu"}))
    assert load_saved_config(_Model, path, expect={"format": "f-1"}) == _Model(width=4, act="gelu")
    for doc, message in [({"format": "f-2"}, "format is 'f-2', expected 'f-1'"),
                         ({"format": "f-1", "width": "wide"}, "width: expected int"),
                         ({"format": "f-1", "depth": 3}, "unknown config key 'depth'")]:
        path.write_text(json.dumps(doc))
        with pytest.raises(ConfigError, match=f"^{path}: .*{message}"):
            load_saved_config(_Model, path, expect={"format": "f-1"})
    path.write_text('{"format": "f-1", "width": ')
    with pytest.raises(ConfigError, match=f"^{path}: not a valid JSON file"):
        load_saved_config(_Model, path)
    with pytest.raises(ConfigError, match=f"^{path}: config: expected a mapping"):
        path.write_text(json.dumps({"kind": "t2m", "config": [1]}))
        load_saved_config(_Model, path, section="config")
