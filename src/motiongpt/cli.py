"""The `motiongpt` command: argparse sub-commands, each routed to the module that owns it.

    motiongpt data bandai|check|custom|recaption|compose ...   build / validate HumanML3D-layout datasets
    motiongpt train vq|lm|evaluator|recognizer ...              training stages (configs in configs/)
    motiongpt tokenize ...                                      cache motion token ids for the LM stages
    motiongpt eval t2m|m2t|pred|inbetween|recon|actions ...     paper-style evaluation tables
    motiongpt generate|caption|predict|inbetween|render ...     use a trained model
    motiongpt demo                                              Gradio chat demo on 127.0.0.1

`motiongpt --help`, every group (`motiongpt data --help`) and every command (`motiongpt data custom --help`)
has its own help with examples. `COMMANDS` is the one declarative table: (command words) -> the module
whose `main(argv) -> int` runs it, a one-line help and examples; add a line there to add a command.
Group parsers are argparse sub-parsers built from the table; a command's own options are parsed by its
module, imported only when the command runs, so that `--help` is instant. Unknown commands exit 2 with usage.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str  # module that defines `main(argv: list[str]) -> int`
    help: str
    keep_name: bool = False  # pass the last command word on (modules that serve several commands)
    examples: tuple[str, ...] = ()  # shown under "examples:" in the command's help


def _eval(summary: str, *examples: str) -> Command:
    """An `eval` task: motiongpt.eval.runner gets the task name first."""
    return Command("motiongpt.eval.runner", summary, keep_name=True, examples=examples)


COMMANDS: dict[tuple[str, ...], Command] = {
    ("data", "bandai"): Command("motiongpt.data.bandai", "build the Bandai-Namco dataset in HumanML3D layout",
                                examples=("motiongpt data bandai --src ../shared/data/bandai/bandai-namco-motion.tar.xz "
                                          "--out data/bandai",)),
    ("data", "check"): Command("motiongpt.data.check", "validate a HumanML3D / KIT-ML layout directory", examples=(
        "motiongpt data check data/bandai", "motiongpt data check ~/HumanML3D --quick --max-per-kind 5")),
    ("data", "custom"): Command("motiongpt.data.custom", "BVH folder + captions CSV -> HumanML3D layout", examples=(
        "motiongpt data custom --bvh-dir mocap/ --captions captions.csv --out data/mine",
        "motiongpt data custom --bvh-dir mocap/ --captions captions.csv --out data/mine --max-seconds 1800")),
    ("data", "recaption"): Command("motiongpt.data.recaption", "rewrite a built dataset's captions from its labels",
                                   examples=("motiongpt data recaption data/bandai",)),
    ("data", "compose"): Command("motiongpt.data.compose", "join train clips into 'X, then Y' motions",
                                 examples=("motiongpt data compose data/bandai --count 3000 --seed 0",)),
    ("train", "vq"): Command("motiongpt.train.vq", "stage 1: train the motion tokenizer (VQ-VAE)", examples=(
        "motiongpt train vq --config configs/vq/cpu.yaml --data data/bandai --run-dir runs/vq",
        "motiongpt train vq --config configs/vq/cpu.yaml --run-dir runs/vq --resume")),
    ("train", "lm"): Command("motiongpt.train.lm", "stages 2/3: pre-train or instruction-tune the LM", examples=(
        "motiongpt train lm --stage pretrain --config configs/lm/cpu.yaml --data data/bandai --run-dir runs/lm",
        "motiongpt train lm --stage instruct --config configs/lm/cpu_instruct.yaml --data data/bandai "
        "--init runs/lm/export/last --run-dir runs/instruct")),
    ("train", "evaluator"): Command("motiongpt.train.evaluator", "train the text-motion evaluator", examples=(
        "motiongpt train evaluator --data data/bandai --config configs/evaluator/t2m_cpu.yaml",)),
    ("train", "recognizer"): Command("motiongpt.train.recognizer", "train the action recogniser of eval actions",
                                     examples=("motiongpt train recognizer --config configs/recognizer/cpu.yaml "
                                               "--data data/bandai --run-dir runs/recognizer",)),
    ("tokenize",): Command("motiongpt.tokenizer.cache", "cache token ids of every motion and its mirror", examples=(
        "motiongpt tokenize --tokenizer checkpoints/default/tokenizer --data data/bandai",)),
    ("eval", "t2m"): _eval("text-to-motion table (R-precision, FID, MM-Dist, diversity)",
                           "motiongpt eval t2m --data data/bandai --replications 20"),
    ("eval", "m2t"): _eval("motion-to-text table (R-precision, BLEU, ROUGE, CIDEr, BERTScore)",
                           "motiongpt eval m2t --data data/bandai --replications 20 --reuse"),
    ("eval", "pred"): _eval("motion prediction table (FID, ADE, FDE)", "motiongpt eval pred --data data/bandai"),
    ("eval", "inbetween"): _eval("motion in-betweening table (FID, ADE, FDE)",
                                 "motiongpt eval inbetween --data data/bandai"),
    ("eval", "recon"): _eval("tokenizer reconstruction table (MPJPE, FID)",
                             "motiongpt eval recon --data data/bandai"),
    ("eval", "actions"): _eval("action accuracy of generated motions (recogniser)",
                               "motiongpt eval actions --data data/bandai --captions dev"),
    ("generate",): Command("motiongpt.commands", "text -> motion (mp4, BVH, npy, JSON, GLB)", keep_name=True),
    ("caption",): Command("motiongpt.commands", "motion file (BVH / npy / JSON) -> text", keep_name=True),
    ("predict",): Command("motiongpt.commands", "continue a motion file", keep_name=True),
    ("inbetween",): Command("motiongpt.commands", "fill the motion between two files", keep_name=True),
    ("render",): Command("motiongpt.commands", "render a motion file to mp4 / gif / png strip", keep_name=True),
    ("demo",): Command("motiongpt.demo.app", "Gradio chat demo", examples=(
        "motiongpt demo", "motiongpt demo --model checkpoints/default --port 7861")),
}

GROUPS = {
    "data": ("build, check and extend datasets in HumanML3D layout", "motiongpt data check data/bandai"),
    "train": ("training stages (configs in configs/)", "motiongpt train vq --config configs/vq/cpu.yaml"),
    "eval": ("paper-style evaluation tables with 95% confidence intervals", "motiongpt eval t2m --data data/bandai"),
}
_VERBATIM = "\x00"  # prefix character of command parsers: every argument after the command words is passed on


def _overview() -> str:
    """The command table for the top-level help."""
    lines = ["commands:"] + [f"  {' '.join(words):<20} {cmd.help}" for words, cmd in COMMANDS.items()]
    lines += ["", "examples:", '  motiongpt generate "a person waves with the right hand" --seconds 4',
              "  motiongpt data --help", "  motiongpt train vq --help"]
    return "\n".join(lines)


def _add_command(sub: argparse._SubParsersAction, words: tuple[str, ...], cmd: Command) -> None:
    """A command parser that hands everything after its words to the module (which parses its own options)."""
    p = sub.add_parser(words[-1], help=cmd.help if len(words) > 1 else None, add_help=False, prefix_chars=_VERBATIM)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(words=words)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: groups (data, train, eval) and commands from COMMANDS."""
    parser = argparse.ArgumentParser(prog="motiongpt", description="Human motion as a foreign language.",
                                     epilog=_overview(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for words, cmd in COMMANDS.items():
        if len(words) == 1:
            _add_command(sub, words, cmd)
            continue
        if words[0] not in groups:
            help_text, example = GROUPS.get(words[0], (words[0], f"motiongpt {words[0]} --help"))
            group = sub.add_parser(words[0], description=help_text, epilog=f"examples:\n  {example}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
            group.set_defaults(group_parser=group)
            groups[words[0]] = group.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
        _add_command(groups[words[0]], words, cmd)
    return parser


def _run(cmd: Command, words: tuple[str, ...], args: list[str]) -> int:
    """Import the owning module and run its main; help output gets the table's examples appended."""
    argv = [words[-1], *args] if cmd.keep_name else list(args)
    main = importlib.import_module(cmd.module).main
    if not any(a in ("-h", "--help") for a in args):
        return _exit_code(main, argv)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = _exit_code(main, argv)
    text = captured.getvalue()
    print(text, end="")
    if code == 0 and cmd.examples and "examples:" not in text:
        print("\nexamples:\n" + "\n".join(f"  {e}" for e in cmd.examples))
    return code


def _exit_code(main: object, argv: list[str]) -> int:
    """main(argv) as an exit status (argparse's SystemExit included)."""
    try:
        return int(main(argv) or 0)  # type: ignore[operator]
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        parser.print_help()
        return 0
    try:
        ns = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or unknown command (2): argparse printed usage
        return e.code if isinstance(e.code, int) else 2
    if ns.version:
        from motiongpt import __version__

        print(__version__)
        return 0
    if not hasattr(ns, "words"):  # a group without its subcommand, e.g. `motiongpt data`
        group = getattr(ns, "group_parser", parser)
        group.print_help(sys.stderr)
        return 2
    return _run(COMMANDS[ns.words], ns.words, ns.args)


if __name__ == "__main__":
    sys.exit(main())
