"""Hostile and broken inputs, as a table: each case runs the real CLI in a subprocess and must end with its
exit code, ONE stderr line naming the file and the field, nothing left in the output folder, and a peak
RSS under 2 GB with the default input limits. All cases run one after the other in ONE child process (one
start-up); its peak RSS (VmHWM) after each case bounds that case's peak.

Fixtures are generated in the test and tiny (a hostile header is enough: limits are checked before any
frame is parsed or resampled). Commands that would load a model get options refused at parse time, so no
model is needed; the model-side cases (long prompt, failing writer) are in tests/test_commands.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from synthetic import walking

MAX_RSS_MB = 2048
SRC = str(Path(__file__).resolve().parents[1] / "src")
_RUNNER = """
import contextlib, io, json, logging, resource, sys
from motiongpt.cli import main

def peak_rss_mb():
    # VmHWM belongs to this process image; ru_maxrss would report the parent's peak too, since Linux keeps it
    # across fork and exec (a large pytest parent would fail every case).
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

spec = json.load(open(sys.argv[1]))
results = []
for case in spec:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if case["fsize"]:
        resource.setrlimit(resource.RLIMIT_FSIZE, (case["fsize"], hard))
    logging.root.handlers.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(case["argv"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    rss = peak_rss_mb()
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "rss_mb": rss})
json.dump(results, open(sys.argv[2], "w"))
"""


def _bvh(frames_header: str, frame_time: str, lines: int = 3) -> str:
    """A one-joint BVH whose MOTION header says what the case needs."""
    return ("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n"
            "  End Site\n  {\n    OFFSET 0 10 0\n  }\n}\n"
            f"MOTION\nFrames: {frames_header}\nFrame Time: {frame_time}\n" + "0 0 0\n" * lines)


def _json_motion(fps: object, frames: object = None) -> str:
    frames = walking(8).tolist() if frames is None else frames
    return json.dumps({"format": "motiongpt-joints", "version": 1, "fps": fps, "frames": frames})


def _write(name: str, content: str | bytes | np.ndarray | Callable[[Path], None]) -> Callable[[Path], Path]:
    """A fixture builder: writes `content` to tmp/name and returns the path."""
    def build(tmp: Path) -> Path:
        path = tmp / name
        if isinstance(content, np.ndarray):
            np.save(path, content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            content(path)
        return path
    return build


def _npz_as_npy(path: Path) -> None:
    np.savez(path.with_suffix(".npz"), joints=walking(8))
    path.with_suffix(".npz").rename(path)


def _sparse(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(size)
    return make


def _long_npy(path: Path) -> None:
    """A (200000, 22, 3) float32 .npy: a header plus a sparse file (53 MB on paper, almost nothing on disk)."""
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(200_000, 22, 3)).flush()


def _root_far(path: Path) -> None:
    joints = walking(8).astype(np.float64)
    joints[3, 0, 0] = 1e30
    np.save(path, joints)


def _custom_inputs(tmp: Path, files: dict[str, str], rows: list[str]) -> Path:
    """--bvh-dir tmp/bvh with `files`, captions CSV with `rows`; returns the CSV path."""
    (tmp / "bvh").mkdir()
    for name, text in files.items():
        (tmp / "bvh" / name).write_text(text)
    csv = tmp / "captions.csv"
    csv.write_text("file,caption\n" + "".join(f"{r}\n" for r in rows))
    return csv


def _good_bvh_text(tmp: Path) -> str:
    from motiongpt.io.bvh import write_bvh

    write_bvh(tmp / "good.bvh", walking(60).astype(np.float64))
    return (tmp / "good.bvh").read_text()


def _mostly_failing(tmp: Path) -> Path:
    files = {"a.bvh": _good_bvh_text(tmp), "b.bvh": _bvh("3", "100000"), "c.bvh": "HIERARCHY\nROOT\n"}
    return _custom_inputs(tmp, files, ["a,a person walks", "b,b walks", "c,c walks"])


def _outside(tmp: Path) -> Path:
    (tmp / "secret.bvh").write_text(_bvh("3", "0.05"))
    return _custom_inputs(tmp, {}, ["../secret.bvh,a person walks"])


def _bad_split(tmp: Path) -> Path:
    root = tmp / "ds"
    root.mkdir()
    (root / "train.txt").write_bytes(b"\xff\xfe\x00bad\n")
    return root


@dataclass
class Case:
    """One hostile input: argv (with {in}, {out}, {tmp} filled in), the expected exit code and message parts."""

    id: str
    argv: list[str]
    expect: list[str]  # substrings of the one error line (file and field)
    build: Callable[[Path], Path] | None = None
    code: int = 2
    stream: str = "stderr"  # data check reports findings on stdout
    fsize: int | None = None  # RLIMIT_FSIZE for the child (a full disk)
    check_err: Callable[[str], None] | None = field(default=None, repr=False)


def _each_skip_once(err: str) -> None:
    for name in ("b.bvh", "c.bvh"):
        assert sum(f"{name}:" in line and "skipped" in line for line in err.splitlines()) == 1, err


CASES = [
    Case("bvh-frame-time-1e5", ["caption", "{in}"], ["tiny.bvh", "Frame Time", "frame rate 1e-05"],
         _write("tiny.bvh", _bvh("3", "100000"))),
    Case("bvh-200k-frames", ["caption", "{in}"], ["long.bvh", "Frames", "200000 frames"],
         _write("long.bvh", _bvh("200000", "0.0083333"))),
    Case("bvh-65MB", ["caption", "{in}"], ["big.bvh", "65 MB", "--max-file-mb"],
         _write("big.bvh", _sparse(65_000_000))),
    Case("json-fps-1e-6", ["caption", "{in}"], ["m.json", "field 'fps'", "1e-06"],
         _write("m.json", _json_motion(1e-6))),
    *[Case(f"json-fps-{name}", ["caption", "{in}"], ["m.json", "field 'fps'"], _write("m.json", text))
      for name, text in [("0", _json_motion(0)), ("-20", _json_motion(-20)), ("twenty", _json_motion("twenty")),
                         ("null", _json_motion(None)), ("list", _json_motion([20])), ("true", _json_motion(True)),
                         ("inf", _json_motion(20).replace('"fps": 20', '"fps": Infinity'))]],
    Case("json-nested", ["caption", "{in}"], ["deep.json", "nested too deeply"],
         _write("deep.json", "[" * 200_000 + "]" * 200_000)),
    Case("json-frames-strings", ["caption", "{in}"], ["s.json", "field 'frames'"],
         _write("s.json", _json_motion(20, [[["1", "2", "3"]] * 22] * 8))),
    Case("npy-empty", ["caption", "{in}"], ["e.npy", "empty file"], _write("e.npy", b"")),
    Case("npz-as-npy", ["caption", "{in}"], ["z.npy", "zip archive"], _write("z.npy", _npz_as_npy)),
    Case("npy-complex", ["caption", "{in}"], ["c.npy", "complex"], _write("c.npy", walking(8).astype(np.complex64))),
    Case("npy-uint8", ["caption", "{in}"], ["u.npy", "uint8"], _write("u.npy", np.ones((8, 22, 3), np.uint8))),
    Case("npy-all-zero", ["caption", "{in}"], ["0.npy", "joints", "degenerate"], _write("0.npy", np.zeros((8, 22, 3)))),
    Case("npy-1e30", ["caption", "{in}"], ["h.npy", "joints", "1e+30"], _write("h.npy", np.full((8, 22, 3), 1e30))),
    Case("npy-root-1e30", ["caption", "{in}"], ["r.npy", "joints", "1e+30"], _write("r.npy", _root_far)),
    Case("npy-features-zero", ["caption", "{in}"], ["f.npy", "features", "degenerate"],
         _write("f.npy", np.zeros((8, 263), np.float32))),
    Case("npy-200k-frames", ["caption", "{in}"], ["l.npy", "joints", "200000 frames"], _write("l.npy", _long_npy)),
    Case("render-strip-frames-0", ["render", "{in}", "--strip", "--frames", "0", "--out", "{out}/s.png"],
         ["--frames", "must be in [1, 64]"], _write("w.npy", walking(8))),
    Case("render-disk-full", ["render", "{in}", "--out", "{out}/w.mp4"], ["w.mp4", "disk full"],
         _write("w.npy", walking(60)), fsize=4096),
    *[Case(f"generate-{opt}-{value}", ["generate", "a person walks", opt, value, "--model", "{tmp}/none",
                                       "--out", "{out}"], [opt], None)
      for opt, value in [("--temperature", "-1"), ("--temperature", "nan"), ("--top-p", "2"), ("--top-p", "nan"),
                         ("--top-k", "0"), ("--seconds", "30"), ("--name", "../../x"), ("--num-samples", "1000"),
                         ("--format", "mp4,fbx")]],
    Case("generate-out-is-file", ["generate", "a person walks", "--model", "{tmp}/none", "--out", "{in}"],
         ["--out", "o.txt", "is a file"], _write("o.txt", "not a folder")),
    Case("custom-outside-bvh-dir", ["data", "custom", "--bvh-dir", "{tmp}/bvh", "--captions", "{in}", "--out", "{out}",
                                    "--workers", "1"], ["captions.csv:2", "column 'file'", "outside --bvh-dir"],
         _outside),
    Case("custom-most-fail", ["data", "custom", "--bvh-dir", "{tmp}/bvh", "--captions", "{in}", "--out", "{out}",
                              "--workers", "1"], ["only 1 of 3 BVH files"], _mostly_failing, check_err=_each_skip_once),
    Case("custom-out-is-file", ["data", "custom", "--bvh-dir", "{tmp}/bvh", "--captions", "{in}", "--out", "{in}"],
         ["captions.csv", "not a directory"], lambda tmp: _custom_inputs(tmp, {"a.bvh": _bvh("3", "0.05")}, ["a,x"])),
    Case("check-split-not-utf8", ["data", "check", "{in}"], ["train.txt", "not UTF-8"], _bad_split, code=1,
         stream="stdout"),
]


def _run_all(spec: list[dict], tmp: Path) -> list[dict]:
    """Run every case's CLI call in ONE child process (one start-up; ru_maxrss after each case)."""
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for name in ("MAX_SECONDS", "MAX_FRAMES", "MAX_FILE_MB", "MIN_FPS", "MAX_FPS"):
        env.pop(f"MOTIONGPT_{name}", None)
    done = subprocess.run([sys.executable, "-c", _RUNNER, str(tmp / "spec.json"), str(tmp / "results.json")],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp / "results.json").read_text())


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """Case id -> (its folder, what the CLI did)."""
    root = tmp_path_factory.mktemp("hostile")
    folders, spec = [], []
    for i, case in enumerate(CASES):
        folder = root / f"case{i:02d}"
        folder.mkdir()
        path = case.build(folder) if case.build else folder
        argv = [a.format(**{"in": path, "out": folder / "out", "tmp": folder}) for a in case.argv]
        folders.append(folder)
        spec.append({"argv": argv, "fsize": case.fsize})
    return {c.id: (f, r) for c, f, r in zip(CASES, folders, _run_all(spec, root))}


def _error_lines(text: str) -> list[str]:
    """Lines of stderr that are not progress or log chatter."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith(("skipped ", "converting "))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input(case: Case, results: dict[str, tuple[Path, dict]]) -> None:
    folder, done = results[case.id]
    stream = done[case.stream]
    assert done["code"] == case.code, (done["code"], done["stderr"][-2000:])
    assert "Traceback" not in done["stderr"] and "Warning" not in done["stderr"], done["stderr"][-2000:]
    lines = [line for line in _error_lines(stream) if all(part in line for part in case.expect)]
    assert lines, f"no line with {case.expect} in:\n{stream[-2000:]}"
    if case.stream == "stderr" and "usage:" not in done["stderr"]:  # argparse adds its usage line
        assert len(_error_lines(done["stderr"])) == 1, done["stderr"]
    out = folder / "out"
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
    assert not [p for p in folder.iterdir() if p.name.startswith((".tmp-", "out.partial", ".old-", ".motiongpt-"))]
    assert done["rss_mb"] < MAX_RSS_MB, f"peak RSS {done['rss_mb']:.0f} MB"
    if case.check_err:
        case.check_err(done["stderr"])


def test_limits_can_be_raised(tmp_path: Path) -> None:
    """A file refused by default loads with --max-seconds raised."""
    from motiongpt.cli import main

    path = tmp_path / "slow.json"
    path.write_text(_json_motion(1.0, walking(700).tolist()))  # 700 s at 1 frame/s
    argv = ["render", str(path), "--strip", "--frames", "1", "--out", str(tmp_path / "s.png")]
    assert main(argv) == 2 and not (tmp_path / "s.png").exists()
    assert main(argv + ["--max-seconds", "800"]) == 0
    assert (tmp_path / "s.png").is_file()
