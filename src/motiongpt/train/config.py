"""Typed configuration: dataclasses per concern, loaded as defaults -> YAML file -> dotted overrides.

Every training stage declares one dataclass per concern (data, model, optim, schedule, checkpoint, logging)
and composes them into a stage config. `load_config` fills it from the defaults, then a YAML file, then
command-line overrides such as `model.codebook_size=256` or `trainer.optim.betas=[0.9,0.99]` (values parsed
with `yaml.safe_load`). Every value is type-checked against the dataclass annotations (int, float, bool, str,
Optional, Union, list, tuple, dict, Literal, nested dataclasses); unknown keys are rejected with a
"did you mean" hint. No import strings, no `eval`.

Example::

    @dataclass
    class ModelConfig:
        width: int = 512
        act: Literal["relu", "gelu"] = "relu"

    @dataclass
    class StageConfig:
        model: ModelConfig = field(default_factory=ModelConfig)
        trainer: TrainerConfig = field(default_factory=TrainerConfig)

    cfg = load_config(StageConfig, "configs/vq/tiny.yaml", ["model.width=64", "trainer.optim.lr=1e-3"])
    save_config(cfg, run_dir / "config.yaml")

The shared `TrainerConfig` (optimiser, schedule, checkpoint, logging, distributed) is defined here so every
stage composes the same engine settings; see `motiongpt.train.engine.Trainer`.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, TypeVar, Union

import yaml

from motiongpt.utils import atomic_write_text

C = TypeVar("C")


class ConfigError(ValueError):
    """A configuration key is unknown, malformed or has the wrong type (the message names the key)."""


# --------------------------------------------------------------------------------------------------------------
# Engine configuration shared by every stage
# --------------------------------------------------------------------------------------------------------------


@dataclass
class OptimConfig:
    """AdamW optimiser and gradient handling."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    eps: float = 1e-8
    grad_clip: Optional[float] = None  # max global gradient norm; None disables clipping
    grad_accum: int = 1  # micro-batches per optimiser step; the global batch is split into them


@dataclass
class ScheduleConfig:
    """Length of training and learning-rate schedule (linear warm-up, then constant / cosine / step decay)."""

    max_steps: int = 1000  # optimiser steps
    warmup_steps: int = 0
    decay: Literal["constant", "cosine", "step"] = "constant"
    min_lr_ratio: float = 0.0  # cosine floor as a fraction of optim.lr
    milestones: list[int] = field(default_factory=list)  # "step" decay: multiply by gamma at these steps
    gamma: float = 0.1


@dataclass
class CheckpointConfig:
    """Periodic atomic checkpoints in `<run_dir>/checkpoints/step_XXXXXXXX/`."""

    every_steps: int = 1000
    every_minutes: Optional[float] = None  # also checkpoint when this much wall time has passed
    keep_last: int = 3


@dataclass
class LoggingConfig:
    """Progress bar, TensorBoard (`<run_dir>/tb`) and validation cadence."""

    every_steps: int = 10
    progress: bool = True
    tensorboard: bool = True
    eval_every_steps: int = 0  # 0 disables periodic evaluation (it still runs at the end when given)


@dataclass
class TrainerConfig:
    """Everything the generic `Trainer` needs besides the model, the data and the loss."""

    run_dir: str = "runs/default"
    seed: int = 1234
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...; under torchrun CUDA ranks use their local GPU
    batch_size: int = 32  # global batch per optimiser step (summed over ranks and accumulation micro-batches)
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = autocast for the forward pass
    find_unused_parameters: bool = False  # DDP option for models with conditionally used parameters
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


# --------------------------------------------------------------------------------------------------------------
# Loading, checking and saving
# --------------------------------------------------------------------------------------------------------------


def load_config(cls: type[C], yaml_path: str | os.PathLike | None = None, overrides: Sequence[str] = ()) -> C:
    """Build `cls` from its defaults, then `yaml_path` (if given), then `key.sub=value` overrides."""
    data: dict[str, Any] = {}
    if yaml_path is not None:
        data = _read_yaml(Path(yaml_path))
    for item in overrides:
        _apply_override(data, item)
    return from_dict(cls, data)


def from_dict(cls: type[C], data: dict[str, Any], prefix: str = "") -> C:
    """Instantiate dataclass `cls` from a nested dict, checking keys and types (missing keys keep defaults)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (known keys: {', '.join(names)})"
            raise ConfigError(f"unknown config key {path!r}{hint}")
        kwargs[key] = _convert(value, hints[key], path)
    return cls(**kwargs)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, YAML-safe nested dict of a dataclass config (tuples become lists)."""
    return _plain(dataclasses.asdict(cfg))


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML (atomically)."""
    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def _apply_override(data: dict[str, Any], item: str) -> None:
    """Set `a.b.c=value` in the nested dict `data` (value parsed as YAML)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"bad override {item!r}: expected dotted.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(f"override {key!r}: cannot parse value {raw!r}: {err}") from err
    *parents, leaf = key.split(".")
    node = data
    for i, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {'.'.join(parents[: i + 1])!r} is not a section")
        node = child
    node[leaf] = value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Check `value` against annotation `tp` and convert containers (raises ConfigError naming `path`)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=f"{path}.")
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, path)
            except ConfigError:
                continue
        raise ConfigError(f"{path}: {value!r} matches none of {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{path}: {value!r} is not one of {list(args)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__} {value!r}")
        if origin is list:
            return [_convert(v, args[0] if args else Any, f"{path}[{i}]") for i, v in enumerate(value)]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} items, got {len(value)} ({value!r})")
        return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args or [Any] * len(value))))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__} {value!r}")
        kt, vt = args or (Any, Any)
        return {_convert(k, kt, f"{path}.<key>"): _convert(v, vt, f"{path}.{k}") for k, v in value.items()}
    return _convert_scalar(value, tp, path)


def _convert_scalar(value: Any, tp: Any, path: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is type(None):
        if value is None:
            return None
    else:
        raise ConfigError(f"{path}: unsupported annotation {_type_name(tp)}")
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
