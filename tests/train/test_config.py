"""Config loading: defaults -> YAML -> dotted overrides, type checks and helpful errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest
import yaml

from motiongpt.train.config import ConfigError, TrainerConfig, config_to_dict, load_config, save_config


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


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(_Stage, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(_Stage, bad)
