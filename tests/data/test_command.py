"""What the `motiongpt data NAME` scripts share: the parser, and the report-or-one-line-error ending."""
from __future__ import annotations

import pytest

from motiongpt.data.command import data_parser, run_reported

DOC = """First paragraph: what the script does.

More words, and examples::

    motiongpt data thing ROOT
"""


def test_parser_describes_with_the_first_paragraph() -> None:
    parser = data_parser("thing", DOC)
    assert parser.prog == "motiongpt data thing"
    assert parser.description == "First paragraph: what the script does." and parser.epilog is None
    assert data_parser("thing", DOC, epilog_from_doc=True).epilog.startswith("More words")


def test_run_reported_shows_the_result_or_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_reported("thing", lambda: 3, lambda n: print(f"made {n}")) == 0
    assert capsys.readouterr().out == "made 3\n"

    def broken() -> int:
        raise KeyError("motions")

    assert run_reported("thing", broken, print) == 1
    assert capsys.readouterr().err == "motiongpt data thing: error: 'motions'\n"
    assert run_reported("thing", lambda: 1 / 0, print, errors=(ZeroDivisionError,), failure_code=2) == 2
    with pytest.raises(ZeroDivisionError):  # not one of `errors`: a bug, raised as it is
        run_reported("thing", lambda: 1 / 0, print)
