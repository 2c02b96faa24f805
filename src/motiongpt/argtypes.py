"""Numbers from command lines and environment variables, checked before anything slow runs: one place for the
argparse types of the CLI, `motiongpt eval` and the input-limit options (nonsense is refused at parse time).

    parser.add_argument("--temperature", type=temperature)      # a finite number >= 0
    parser.add_argument("--top-k", type=int_in(1, None))        # an integer >= 1
    parser.add_argument("--max-seconds", type=positive(float))  # a finite number > 0
    positive_number(int, os.environ["MOTIONGPT_MAX_FRAMES"])     # ValueError saying what is wrong
"""
from __future__ import annotations

import argparse
import math
from typing import Any, Callable


def finite_number(text: str, kind: Callable[[str], Any] = float) -> Any:
    """`text` as a finite `kind`; ValueError saying what is wrong."""
    try:
        number = kind(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {text}")
    return number


def positive_number(kind: type, text: str) -> Any:
    """`text` as a finite number > 0 of `kind` (int: a whole number); ValueError saying what is wrong."""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"must be a positive number, got {text}")
    if kind is int and not number.is_integer():
        raise ValueError(f"must be a whole number, got {text}")
    return kind(number)


def argtype(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a check that raises ValueError (argparse then prints the message as a usage error)."""
    def parse(value: str) -> Any:
        try:
            return check(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: a finite number > 0 of `kind`."""
    return argtype(lambda value: positive_number(kind, value))


def _in_range(value: str, kind: Callable[[str], Any], ok: Callable[[Any], bool], rule: str) -> Any:
    number = finite_number(value, kind)
    if not ok(number):
        raise ValueError(f"must be {rule}, got {value}")
    return number


temperature = argtype(lambda value: _in_range(value, float, lambda x: x >= 0, ">= 0 (0 is greedy)"))
temperature.__doc__ = "A sampling temperature >= 0 (0: greedy)."
top_p = argtype(lambda value: _in_range(value, float, lambda x: 0 < x <= 1, "in (0, 1]"))
top_p.__doc__ = "A nucleus probability mass in (0, 1]."


def int_in(low: int, high: int | None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when high is None)."""
    bound = high if high is not None else "inf"
    return argtype(lambda value: _in_range(value, int, lambda x: x >= low and (high is None or x <= high),
                                           f"in [{low}, {bound}]"))
