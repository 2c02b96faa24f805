"""The `motiongpt` dispatcher: help, unknown commands, routing to the owning module."""
from __future__ import annotations

import sys
import types

import pytest

from motiongpt import cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for words in cli.COMMANDS:
        assert " ".join(words) in out


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "module", "expected_rest"),
    [
        (["data", "check", "x"], "motiongpt.data.check", ["x"]),
        (["eval", "t2m", "--model", "m"], "motiongpt.eval.runner", ["t2m", "--model", "m"]),
        (["generate", "a person walks"], "motiongpt.commands", ["generate", "a person walks"]),
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
