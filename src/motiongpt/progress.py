"""Progress of long loops: a tqdm bar with ETA on a terminal, plain log lines every N% otherwise.

    from motiongpt.progress import progress, progress_bar
    for clip in progress(clips, total=len(clips), desc="building"):   # an iterable
        ...
    bar = progress_bar(total=max_steps, initial=step, desc="train")   # manual updates
    bar.update(1); bar.set_postfix(loss="0.41"); bar.close()

Where stderr is not a terminal (CI logs, `2> log.txt`, a server) each crossed `every` percent prints one
line `desc: 40% (400/1000) 12s elapsed, ETA 18s` instead of carriage-return redraws (without a known
total, one line `desc: 400 done, 30s elapsed` every 30 seconds).
"""
from __future__ import annotations

import sys
import time
from typing import Any, Iterable, Iterator, TextIO, TypeVar

T = TypeVar("T")
DEFAULT_EVERY = 10  # percent between plain log lines
UNKNOWN_TOTAL_SECONDS = 30.0  # without a total, a line every this many seconds


class LogProgress:
    """The non-terminal bar: one line per `every` percent, with elapsed time and ETA (tqdm's update API)."""

    def __init__(self, total: int | None, desc: str, initial: int = 0, every: int = DEFAULT_EVERY,
                 stream: TextIO | None = None) -> None:
        self.total, self.desc, self.n, self.every = total, desc, initial, every
        self.stream = stream or sys.stderr
        self.start, self.start_n = time.monotonic(), initial
        self.last_log = self.start
        self.postfix = ""
        self.next_mark = self._mark_after(initial)

    def _mark_after(self, n: int) -> int:
        """The next count at which a line is due (known total)."""
        step = max(1, (self.total or 0) * self.every // 100)
        return (n // step + 1) * step

    def _due(self) -> bool:
        if not self.total:
            return time.monotonic() - self.last_log >= UNKNOWN_TOTAL_SECONDS
        return self.n >= self.next_mark or self.n >= self.total

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._due():
            self._log()
            self.next_mark = self._mark_after(self.n)
            self.last_log = time.monotonic()

    def set_postfix(self, **values: Any) -> None:
        self.postfix = " " + " ".join(f"{k}={v}" for k, v in values.items())

    def _log(self) -> None:
        elapsed = time.monotonic() - self.start
        if not self.total:
            print(f"{self.desc}: {self.n} done, {elapsed:.0f}s elapsed{self.postfix}", file=self.stream, flush=True)
            return
        done = self.n - self.start_n
        eta = elapsed / done * (self.total - self.n) if done > 0 else float("nan")
        print(f"{self.desc}: {100 * self.n // self.total}% ({self.n}/{self.total}) {elapsed:.0f}s elapsed, "
              f"ETA {eta:.0f}s{self.postfix}", file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to tidy up (lines are already written)."""


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(total: int | None, desc: str, initial: int = 0, every: int = DEFAULT_EVERY,
                 stream: TextIO | None = None) -> Any:
    """A tqdm bar (terminal) or a LogProgress (anything else) with update / set_postfix / close."""
    stream = stream or sys.stderr
    if _is_tty(stream):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, file=stream, dynamic_ncols=True)
    return LogProgress(total, desc, initial, every, stream)


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", every: int = DEFAULT_EVERY,
             stream: TextIO | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate with progress on stderr; total defaults to len(iterable); enabled=False shows nothing."""
    if not enabled:
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    bar = progress_bar(total, desc, every=every, stream=stream)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()
