"""Progress: plain log lines every N% when stderr is not a terminal, with elapsed time and ETA."""
from __future__ import annotations

import io

from motiongpt.progress import LogProgress, progress, progress_bar


def test_log_lines_every_ten_percent() -> None:
    stream = io.StringIO()
    assert list(progress(range(50), desc="building", stream=stream)) == list(range(50))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("building: 10% (5/50)") and "ETA" in lines[0]
    assert lines[-1].startswith("building: 100% (50/50)")


def test_disabled_and_manual_bar() -> None:
    stream = io.StringIO()
    assert list(progress([1, 2], stream=stream, enabled=False)) == [1, 2] and stream.getvalue() == ""
    bar = progress_bar(total=4, initial=2, desc="train", stream=stream)
    assert isinstance(bar, LogProgress)
    bar.set_postfix(loss="0.5")
    bar.update(2)
    bar.close()
    assert stream.getvalue().splitlines() == [stream.getvalue().splitlines()[0]]
    assert stream.getvalue().startswith("train: 100% (4/4)") and stream.getvalue().rstrip().endswith("loss=0.5")
