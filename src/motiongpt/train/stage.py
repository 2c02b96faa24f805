"""What the `motiongpt train <stage>` entry points share: the argument parser and the closing report.

    p = stage_parser("evaluator", __doc__, "dataset directory in HumanML3D layout", "configs/evaluator/t2m_cpu.yaml")
    args = p.parse_args(argv); ...; report(result, trainer, "evaluator", "top3")
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from motiongpt.config import ConfigError
from motiongpt.data.labels import MotionLabel, read_motion_labels
from motiongpt.data.layout import MotionDir


def stage_parser(stage: str, doc: str | None, data_help: str, config_example: str, run_dir: bool = True
                 ) -> argparse.ArgumentParser:
    """--data, --config, [--run-dir], --resume and dotted overrides of one training stage."""
    p = argparse.ArgumentParser(prog=f"motiongpt train {stage}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help=data_help)
    p.add_argument("--config", help=f"YAML preset, e.g. {config_example}")
    if run_dir:
        p.add_argument("--run-dir", help="run directory (overrides trainer.run_dir)")
    p.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. trainer.schedule.max_steps=500")
    return p


def parse_stage_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """Parsed arguments and the overrides (with `--run-dir` as `trainer.run_dir=`); sets up INFO logging."""
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run_dir = getattr(args, "run_dir", None)
    return args, list(args.overrides) + ([f"trainer.run_dir={run_dir}"] if run_dir else [])


def manifest_labels(data: MotionDir, key: str) -> dict[str, MotionLabel]:
    """The action labels of `data`'s Bandai manifest; a ConfigError naming config `key` when there are none."""
    try:
        return read_motion_labels(data)
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(f"{key}: needs the action labels of a Bandai manifest ({err})") from None


def report(result: Any, trainer: Any, what: str, metric: str) -> None:
    """Print the final metrics, the best value and where the model was exported."""
    print(f"trained {result.step} steps; final: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.metrics.items())))
    print(f"best {metric} {result.best}; {what} exported to {trainer.run_dir / 'export'}/{{best,last}}")
