"""The `motiongpt` command: argparse groups, help with examples, unknown commands, routing to the owning module."""
from __future__ import annotations

import subprocess
import sys
import types

import pytest

from motiongpt import cli

GROUPS = sorted({words[0] for words in cli.COMMANDS if len(words) > 1})


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for words in cli.COMMANDS:
        assert " ".join(words) in out
    assert "examples:" in out


@pytest.mark.parametrize("group", GROUPS)
def test_group_help_lists_its_subcommands(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([group, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: motiongpt {group}") and "examples:" in out
    for words, cmd in cli.COMMANDS.items():
        if words[0] == group:
            assert words[1] in out and cmd.help[:30] in out


def test_group_without_subcommand_prints_its_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["data"]) == 2
    assert "custom" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "bad"), [(["frobnicate"], "frobnicate"), (["data", "frob"], "frob"),
                                           (["train", "nonsense", "--help"], "nonsense")])
def test_unknown_command_exits_2_with_usage(argv: list[str], bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: motiongpt") and f"invalid choice: {bad!r}" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from motiongpt import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


@pytest.mark.parametrize(
    ("argv", "module", "expected_rest"),
    [
        (["data", "check", "x"], "motiongpt.data.check", ["x"]),
        (["eval", "t2m", "--model", "m"], "motiongpt.eval.runner", ["t2m", "--model", "m"]),
        (["generate", "a person walks", "--", "-x"], "motiongpt.commands", ["generate", "a person walks", "--", "-x"]),
        (["render", "--strip", "a.npy"], "motiongpt.commands", ["render", "--strip", "a.npy"]),
    ],
)
def test_dispatch_passes_remaining_arguments(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], module: str, expected_rest: list[str]
) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType(module)
    fake.main = lambda rest: seen.append(rest) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main(argv) == 0
    assert seen == [expected_rest]


def test_command_help_gets_the_table_examples(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    fake = types.ModuleType("motiongpt.train.vq")

    def main(argv: list[str]) -> int:
        import argparse

        argparse.ArgumentParser(prog="motiongpt train vq").parse_args(argv)
        return 0

    fake.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "motiongpt.train.vq", fake)
    assert cli.main(["train", "vq", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: motiongpt train vq") and "examples:\n  motiongpt train vq --config" in out


def test_every_command_has_examples() -> None:
    for words, cmd in cli.COMMANDS.items():
        assert cmd.examples or cmd.module == "motiongpt.commands", words  # commands.py parsers carry their own


def test_group_help_is_instant_and_imports_nothing_heavy() -> None:
    code = ("import sys; from motiongpt import cli; assert cli.main(['train', '--help']) == 0; "
            "heavy = [m for m in ('torch', 'transformers', 'gradio', 'matplotlib') if m in sys.modules]; "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "recognizer" in done.stdout
