"""Demo logic without a browser: upload validation, routing, session folders, chat turns."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from motiongpt.demo.app import (
    DemoBackend,
    DemoSettings,
    SessionStore,
    UploadError,
    check_inputs,
    main,
    route,
    validate_upload,
)


def test_validate_upload_accepts_joints(motion_npy: Path) -> None:
    assert validate_upload(motion_npy).shape == (40, 22, 3)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("x.png", b"\x89PNG", "unsupported file type"),
        ("bad.npy", b"garbage", r"bad\.npy: not a readable \.npy"),
        ("bad.json", b"{}", "not a motiongpt-joints JSON"),
    ],
)
def test_validate_upload_rejects_bad_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UploadError, match=message):
        validate_upload(tmp_path / name)


def test_validate_upload_limits(tmp_path: Path, motion_npy: Path) -> None:
    with pytest.raises(UploadError, match="over the 0.001 MB upload limit"):
        validate_upload(motion_npy, DemoSettings(max_upload_mb=0.001))
    with pytest.raises(UploadError, match="longer than the 1 s limit"):
        validate_upload(motion_npy, DemoSettings(max_upload_seconds=1))
    np.save(tmp_path / "kit.npy", np.zeros((10, 21, 3)))
    with pytest.raises(UploadError, match="22-joint SMPL skeleton, got 21"):
        validate_upload(tmp_path / "kit.npy")
    np.save(tmp_path / "short.npy", np.zeros((2, 22, 3)))
    with pytest.raises(UploadError, match="at least 4 frames"):
        validate_upload(tmp_path / "short.npy")


def test_error_messages_hide_server_paths(tmp_path: Path) -> None:
    np.save(tmp_path / "wrong.npy", np.zeros((5, 7)))
    with pytest.raises(UploadError) as info:
        validate_upload(tmp_path / "wrong.npy")
    assert str(tmp_path) not in str(info.value) and "wrong.npy" in str(info.value)


@pytest.mark.parametrize(
    "message, n, task, expected",
    [
        ("a person jumps", 0, "auto", "text to motion"),
        ("what is this?", 1, "auto", "caption"),
        ("please continue it", 1, "auto", "continue"),
        ("fill the gap between them", 2, "auto", "in-between"),
        ("describe these", 2, "auto", "caption"),
        ("anything", 0, "free chat", "free chat"),
    ],
)
def test_route(message: str, n: int, task: str, expected: str) -> None:
    assert route(message, n, task) == expected


def test_route_and_inputs_errors() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        route("x", 0, "dance")
    with pytest.raises(UploadError, match="needs 2 uploaded motion file"):
        check_inputs("in-between", "", [np.zeros((8, 22, 3))])
    with pytest.raises(UploadError, match="type a description"):
        check_inputs("text to motion", "   ", [])


def test_session_store_sweeps_and_cleans(tmp_path: Path) -> None:
    store = SessionStore(ttl_s=60, root=tmp_path / "root")
    old = store.new_turn_dir("old/../session")
    assert old.parent.parent == store.root and ".." not in old.parent.name
    stale = time.time() - 120
    os.utime(old.parent, (stale, stale))
    fresh = store.new_turn_dir("fresh")  # sweeps the stale session first
    assert not old.exists() and fresh.exists()
    store.remove("fresh")
    assert not fresh.parent.exists()
    store.cleanup()
    assert not store.root.exists()


def test_backend_turns(demo_pipeline, motion_npy: Path, tmp_path: Path) -> None:
    backend = DemoBackend(demo_pipeline, store=SessionStore(root=tmp_path / "sessions"))
    reply = backend.respond("a person waves with the right hand", [], "s1", seconds=1.0, seed=0)
    assert reply.video is not None and reply.video.exists() and reply.video.suffix == ".mp4"
    assert {p.suffix for p in reply.files} >= {".mp4", ".bvh", ".npy", ".json"}
    assert np.load([p for p in reply.files if p.name == "motion_joints.npy"][0]).shape[1:] == (22, 3)
    caption = backend.respond("what is this?", [str(motion_npy)], "s1")
    assert caption.video is None and caption.text
    bad = backend.respond("what is this?", [str(tmp_path / "nope.bvh")], "s1")
    assert bad.text.startswith("Sorry, I can't do that:") and "nope.bvh" in bad.text


def test_backend_hides_unexpected_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def text_to_motion(self, *args, **kwargs):
            raise RuntimeError("boom")

    reply = DemoBackend(Broken(), store=SessionStore(root=tmp_path)).respond("jump", [], "s")
    assert "something went wrong" in reply.text and "boom" not in reply.text
    assert "boom" in caplog.text


def test_main_help_and_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    assert "--host" in capsys.readouterr().out
    assert main(["--model", str(tmp_path / "none")]) == 2
    assert "no model at" in capsys.readouterr().err
    assert main(["--share"]) == 2  # no public link is offered
    assert "unrecognized arguments: --share" in capsys.readouterr().err
