"""Typed configuration: dataclasses per concern, loaded as defaults -> YAML file -> dotted overrides.

Every training stage declares one dataclass per concern (data, model, optim, schedule, checkpoint, logging)
and composes them into a stage config. `load_config` fills it from the defaults, then a YAML file (which may
name another YAML it starts from with `base: other.yaml`, path relative to it, mappings merged key by key), then
command-line overrides such as `model.codebook_size=256` or `trainer.optim.betas=[0.9,0.99]` (values parsed
with `yaml.safe_load`). Every value is type-checked against the dataclass annotations (int, float, bool, str,
Optional, Union, list, tuple, dict, Literal, nested dataclasses) and against the checks in `Annotated` ones
(`PositiveInt`, `Fraction`, `Device`, ...: `Range`, `Match`); unknown keys are rejected with a "did you mean"
hint; floats must be finite. No import strings, no `eval`. Configs saved beside a model (JSON) are read back
through the same checks by `load_saved_config`. Every error is one line naming the key (and the file).

Example::

    @dataclass
    class ModelConfig:
        width: PositiveInt = 512
        act: Literal["relu", "gelu"] = "relu"

    @dataclass
    class StageConfig:
        model: ModelConfig = field(default_factory=ModelConfig)
        trainer: TrainerConfig = field(default_factory=TrainerConfig)

    cfg = load_config(StageConfig, "configs/vq/tiny.yaml", ["model.width=64", "trainer.optim.lr=1e-3"])
    save_config(cfg, run_dir / "config.yaml")
    tok = load_saved_config(TokenizerConfig, "model/config.json", expect={"format": "motiongpt-vqvae-1"})

Values out of range are refused with the key in the message:

    >>> load_config(TrainerConfig, None, ["schedule.max_steps=-5"])
    Traceback (most recent call last):
    ...
    motiongpt.config.ConfigError: schedule.max_steps: -5 is not >= 1

The shared `TrainerConfig` (optimiser, schedule, checkpoint, logging, distributed) is defined here so every
stage composes the same engine settings; see `motiongpt.train.engine.Trainer`.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Optional, Sequence, TypeVar, Union

import yaml

from motiongpt.utils import atomic_write_text

C = TypeVar("C")


class ConfigError(ValueError):
    """A configuration key is unknown, malformed, has the wrong type or is out of range (the message names it)."""


@dataclass(frozen=True)
class Range:
    """`Annotated[int, Range(1)]`: the value must be >= low (> low when `open_low`) and <= high."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range, or None."""
        if self.low is not None and not (value > self.low if self.open_low else value >= self.low):
            return f"is not {'>' if self.open_low else '>='} {self.low}"
        if self.high is not None and not value <= self.high:
            return f"is not <= {self.high}"
        return None


@dataclass(frozen=True)
class Match:
    """`Annotated[str, Match(regex, "what it is")]`: the whole string must match."""

    pattern: str
    what: str

    def problem(self, value: Any) -> str | None:
        """Why `value` does not match, or None."""
        return None if re.fullmatch(self.pattern, value) else f"is not {self.what}"


PositiveInt = Annotated[int, Range(1)]
NonNegativeInt = Annotated[int, Range(0)]
PositiveFloat = Annotated[float, Range(0, open_low=True)]
NonNegativeFloat = Annotated[float, Range(0)]
Fraction = Annotated[float, Range(0, 1)]
Device = Annotated[str, Match(r"auto|cpu|mps|cuda(:\d+)?", "a device (auto, cpu, mps, cuda or cuda:N)")]


# --------------------------------------------------------------------------------------------------------------
# Engine configuration shared by every stage
# --------------------------------------------------------------------------------------------------------------


@dataclass
class OptimConfig:
    """AdamW optimiser and gradient handling."""

    lr: PositiveFloat = 2e-4
    betas: tuple[Fraction, Fraction] = (0.9, 0.99)
    weight_decay: NonNegativeFloat = 0.0
    eps: PositiveFloat = 1e-8
    grad_clip: Optional[PositiveFloat] = None  # max global gradient norm; None disables clipping
    grad_accum: PositiveInt = 1  # micro-batches per optimiser step; the global batch is split into them


@dataclass
class ScheduleConfig:
    """Length of training and learning-rate schedule (linear warm-up, then constant / cosine / step decay)."""

    max_steps: PositiveInt = 1000  # optimiser steps
    warmup_steps: NonNegativeInt = 0
    decay: Literal["constant", "cosine", "step"] = "constant"
    min_lr_ratio: Fraction = 0.0  # cosine floor as a fraction of optim.lr
    milestones: list[NonNegativeInt] = field(default_factory=list)  # "step" decay: multiply by gamma at these steps
    gamma: PositiveFloat = 0.1
    max_cpu_minutes: Optional[PositiveFloat] = None  # compute budget: stop (then export) once this process has
    # used this much CPU time (all threads; counted per process, so a resumed run gets the budget again)


@dataclass
class CheckpointConfig:
    """Periodic atomic checkpoints in `<run_dir>/checkpoints/step_XXXXXXXX/`."""

    every_steps: NonNegativeInt = 1000  # 0: only at the end (and every_minutes)
    every_minutes: Optional[PositiveFloat] = None  # also checkpoint when this much wall time has passed
    keep_last: PositiveInt = 3


@dataclass
class LoggingConfig:
    """Progress bar, TensorBoard (`<run_dir>/tb`) and validation cadence."""

    every_steps: PositiveInt = 10
    progress: bool = True
    tensorboard: bool = True
    eval_every_steps: NonNegativeInt = 0  # 0 disables periodic evaluation (it still runs at the end when given)


@dataclass
class TrainerConfig:
    """Everything the generic `Trainer` needs besides the model, the data and the loss."""

    run_dir: str = "runs/default"
    seed: int = 1234
    device: Device = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...; under torchrun CUDA ranks use their local GPU
    batch_size: PositiveInt = 32  # global batch per optimiser step (summed over ranks and accumulation micro-batches)
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # bf16 autocast; auto = bf16 where the device has it
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
    hints = typing.get_type_hints(cls, include_extras=True)
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


def load_saved_config(cls: type[C], path: str | os.PathLike, section: str | None = None,
                      expect: Mapping[str, Any] | None = None) -> C:
    """`cls` from a JSON file saved beside a model, checked like `load_config` (one-line errors naming the file).

    section: the key holding the fields (None: the whole document, less the `expect` keys); expect: key/values
    the document must carry (its format or kind)."""
    data = read_json_object(path, expect)
    fields = {k: v for k, v in data.items() if k not in (expect or {})} if section is None else data.get(section)
    return from_saved(cls, fields, path)


def read_json_object(path: str | os.PathLike, expect: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON file holding an object that carries the `expect` key/values (one-line errors naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ConfigError(f"{path}: not a valid JSON file ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key, value in (expect or {}).items():
        if data.get(key) != value:
            raise ConfigError(f"{path}: {key} is {data.get(key)!r}, expected {value!r}")
    return data


def from_saved(cls: type[C], data: Any, where: str | os.PathLike) -> C:
    """`from_dict` whose errors name the file `where` the values came from."""
    try:
        return from_dict(cls, data)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


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


BASE_KEY = "base"  # a YAML file may start from another one (path relative to it) and set only what differs


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The mapping of YAML file `path`, on top of the file its `base:` key names (recursively, deep-merged)."""
    data = _read_yaml_file(path)
    base = data.pop(BASE_KEY, None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: {BASE_KEY}: expected a file name, got {base!r}")
    chain, base_path = seen + (path.resolve(),), (path.parent / base).resolve()
    if base_path in chain:
        raise ConfigError(f"{path}: {BASE_KEY}: {base} is already part of this chain (a cycle)")
    return _deep_merge(_read_yaml(base_path, chain), data)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`base` with `top`'s values put in, mappings merged key by key."""
    out = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _deep_merge(out[key], value) if both else value
    return out


def _read_yaml_file(path: Path) -> dict[str, Any]:
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


def _as_float(value: Any) -> float | None:
    """A number (or a numeric string: YAML 1.1 reads "1e-4", without a dot, as a string) as float, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Check `value` against annotation `tp` and convert containers (raises ConfigError naming `path`)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        return _checked(_convert(value, args[0], path), tp.__metadata__, path)
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


def _checked(value: Any, checks: Sequence[Any], path: str) -> Any:
    """`value` if it passes every `Range` / `Match` check of an `Annotated` type."""
    for check in checks:
        problem = check.problem(value) if hasattr(check, "problem") else None
        if problem:
            raise ConfigError(f"{path}: {value!r} {problem}")
    return value


def _convert_scalar(value: Any, tp: Any, path: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        number = _as_float(value)
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"{path}: expected a finite float, got {value!r}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is type(None):
        if value is None:
            return None
    else:
        raise ConfigError(f"{path}: unsupported annotation {_type_name(tp)}")
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
