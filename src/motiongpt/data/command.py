"""What the `motiongpt data NAME` scripts share: their argument parser, and running the work so that it ends
in a printed report (exit 0) or one line `motiongpt data NAME: error: ...` on stderr (a non-zero exit).

    def main(argv: list[str] | None = None) -> int:
        parser = data_parser("recaption", __doc__)
        parser.add_argument("root", type=Path)
        args = parser.parse_args(argv)
        return run_reported("recaption", lambda: recaption(args.root), lambda r: print(r.summary(args.root)))
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, TypeVar

R = TypeVar("R")


def data_parser(name: str, doc: str, epilog_from_doc: bool = False) -> argparse.ArgumentParser:
    """The parser of `motiongpt data NAME`: the description is the first paragraph of the module docstring
    `doc` (epilog_from_doc: the rest of it is the epilog), line breaks kept."""
    head, _, rest = doc.partition("\n\n")
    return argparse.ArgumentParser(prog=f"motiongpt data {name}", description=head,
                                   epilog=rest if epilog_from_doc else None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def run_reported(name: str, work: Callable[[], R], show: Callable[[R], None],
                 errors: tuple[type[Exception], ...] = (ValueError, KeyError), failure_code: int = 1) -> int:
    """Run `work`, then `show` its result and return 0; an exception of `errors` (bad input, a broken
    dataset) is printed as one line on stderr instead and returns `failure_code`."""
    try:
        result = work()
    except errors as err:
        print(f"motiongpt data {name}: error: {err}", file=sys.stderr)
        return failure_code
    show(result)
    return 0
