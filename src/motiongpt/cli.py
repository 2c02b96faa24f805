"""The `motiongpt` command: one entry point per stage, dispatched to the module that owns it.

    motiongpt data bandai|check|custom ...     build / validate HumanML3D-layout datasets
    motiongpt train vq|lm|evaluator ...        training stages (configs in configs/)
    motiongpt tokenize ...                     cache motion token ids for the LM stages
    motiongpt eval t2m|m2t|pred|inbetween|recon ...
    motiongpt generate|caption|predict|inbetween|render ...
    motiongpt demo                             Gradio chat demo on 127.0.0.1

Every sub-command has its own `--help`. Implementations are imported lazily so that `--help` is instant.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str  # module that defines `main(argv: list[str]) -> int`
    help: str
    keep_name: bool = False  # pass the last command word on (modules that serve several commands)


COMMANDS: dict[tuple[str, ...], Command] = {
    ("data", "bandai"): Command("motiongpt.data.bandai", "build the Bandai-Namco dataset in HumanML3D layout"),
    ("data", "check"): Command("motiongpt.data.check", "validate a HumanML3D / KIT-ML layout directory"),
    ("data", "custom"): Command("motiongpt.data.custom", "BVH folder + captions CSV -> HumanML3D layout"),
    ("train", "vq"): Command("motiongpt.train.vq", "stage 1: train the motion tokenizer (VQ-VAE)"),
    ("train", "lm"): Command("motiongpt.train.lm", "stages 2/3: pre-train or instruction-tune the LM"),
    ("train", "evaluator"): Command("motiongpt.train.evaluator", "train the text-motion evaluator"),
    ("tokenize",): Command("motiongpt.tokenizer.cache", "cache token ids of every motion and its mirror"),
    ("eval",): Command("motiongpt.eval.runner", "paper-style tables: t2m | m2t | pred | inbetween | recon"),
    ("generate",): Command("motiongpt.commands", keep_name=True, help="text -> motion (mp4 + BVH + npy)"),
    ("caption",): Command("motiongpt.commands", keep_name=True, help="motion file (BVH / npy) -> text"),
    ("predict",): Command("motiongpt.commands", keep_name=True, help="continue a motion file"),
    ("inbetween",): Command("motiongpt.commands", keep_name=True, help="fill the motion between two files"),
    ("render",): Command("motiongpt.commands", keep_name=True, help="render a motion file to mp4 / gif / png strip"),
    ("demo",): Command("motiongpt.demo.app", "Gradio chat demo"),
}


def _usage() -> str:
    lines = ["usage: motiongpt COMMAND [ARGS] (motiongpt COMMAND --help for details)", "", "commands:"]
    for words, cmd in COMMANDS.items():
        lines.append(f"  {' '.join(words):<18} {cmd.help}")
    return "\n".join(lines)


def _resolve(argv: list[str]) -> tuple[Command, list[str]] | None:
    """Longest-prefix match of argv against COMMANDS; returns the command and its remaining arguments."""
    for n in (2, 1):
        key = tuple(argv[:n])
        if key in COMMANDS:
            cmd = COMMANDS[key]
            return cmd, argv[n - 1:] if cmd.keep_name else argv[n:]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from motiongpt import __version__

        print(__version__)
        return 0
    found = _resolve(argv)
    if found is None:
        print(f"motiongpt: unknown command {' '.join(argv[:2])!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    cmd, rest = found
    return int(importlib.import_module(cmd.module).main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
