"""Demo logic without a browser: upload validation, routing, session folders, chat turns."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from synthetic import walking

from motiongpt.demo import app
from motiongpt.demo.app import (
    MAX_HISTORY_TURNS,
    BatchingWorker,
    ChatTurn,
    DemoBackend,
    DemoSettings,
    SessionStore,
    UploadError,
    check_inputs,
    main,
    route,
    upload_length,
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
    np.save(tmp_path / "kit.npy", np.random.default_rng(0).normal(scale=500.0, size=(10, 21, 3)))
    with pytest.raises(UploadError, match="22-joint SMPL skeleton, got 21"):
        validate_upload(tmp_path / "kit.npy")
    np.save(tmp_path / "short.npy", walking(2))
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


@pytest.mark.parametrize(
    "message, converse, expected",
    [
        ("describe what you made", False, "caption"),
        ("continue it", False, "continue"),
        ("a person jumps", False, "text to motion"),
        ("now make it slower", True, "free chat"),
        ("describe what you made", True, "free chat"),
    ],
)
def test_route_follow_ups(message: str, converse: bool, expected: str) -> None:
    assert route(message, 0, follow_up=True, converse=converse) == expected
    assert route(message, 0, converse=converse) in ("text to motion", "caption", "continue")


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
    assert {p.suffix for p in reply.files} >= {".mp4", ".glb", ".bvh", ".npy", ".json"}
    assert reply.glb is not None and reply.glb.read_bytes()[:4] == b"glTF"
    assert np.load([p for p in reply.files if p.name == "motion_joints.npy"][0]).shape[1:] == (22, 3)
    caption = backend.respond("what is this?", [str(motion_npy)], "s1")
    assert caption.video is None and caption.text
    bad = backend.respond("what is this?", [str(tmp_path / "nope.bvh")], "s1")
    assert bad.text.startswith("Sorry, I can't do that:") and "nope.bvh" in bad.text


def test_backend_hides_unexpected_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def text_to_motion(self, *args, **kwargs):
            raise RuntimeError("boom")

    backend = DemoBackend(Broken(), store=SessionStore(root=tmp_path))
    reply = backend.respond("jump", [], "s")
    assert "something went wrong" in reply.text and "boom" not in reply.text and not reply.ok
    assert backend.conversations.get("s").turns == []  # failed turns are not remembered
    assert "boom" in caplog.text


def test_main_help_and_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    assert "--host" in capsys.readouterr().out
    assert main(["--model", str(tmp_path / "none")]) == 2
    assert "no model at" in capsys.readouterr().err
    assert main(["--share"]) == 2  # no public link is offered
    assert "unrecognized arguments: --share" in capsys.readouterr().err
    assert main(["--max-batch", "0"]) == 2
    assert "--max-batch must be >= 1" in capsys.readouterr().err


# --- uploads are measured before they are read ----------------------------------------------------------------

def _refuse_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(path):
        raise AssertionError(f"{path} was loaded before its duration was checked")

    monkeypatch.setattr(app, "load_motion", load)


def test_long_upload_refused_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _refuse_loading(monkeypatch)
    bvh = tmp_path / "long.bvh"  # 3 frames of data, a header that claims 100000 s
    bvh.write_text("HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 3 Xposition Yposition Zposition\n"
                   "\tEnd Site\n\t{\n\t\tOFFSET 0 1 0\n\t}\n}\nMOTION\nFrames: 3\nFrame Time: 100000\n"
                   + "0 0 0\n" * 3)
    assert upload_length(bvh) == (3, pytest.approx(1e-5))
    with pytest.raises(UploadError, match=r"long\.bvh: 300000 s is longer than the 60 s limit"):
        validate_upload(bvh)
    np.save(tmp_path / "long.npy", np.zeros((1300, 22, 3), dtype=np.float32))  # 65 s at 20 fps
    assert upload_length(tmp_path / "long.npy") == (1300, 20.0)
    with pytest.raises(UploadError, match=r"long\.npy: 65 s is longer"):
        validate_upload(tmp_path / "long.npy")


# --- a fake pipeline: multi-turn chat and batching ------------------------------------------------------------

class Result:
    def __init__(self, joints=None, text=None, ok=True, error=None):
        self.joints, self.text, self.ok, self.error, self.features = joints, text, ok, error, None


class FakePipeline:
    """Records its calls; motions are the synthetic walk (frames as asked), texts echo the request."""

    def __init__(self, delay_s: float = 0.0, converse: bool = True):
        self.calls: list[tuple[str, object]] = []
        self.delay_s = delay_s
        if converse:
            self.converse = self._converse

    def text_to_motion(self, texts, lengths=None, temperature=1.0, seed=None):
        self.calls.append(("text_to_motion", list(texts)))
        time.sleep(self.delay_s)
        if "bad" in texts:
            raise ValueError("texts[0]: bad prompt")
        return [Result(walking(n), t) for t, n in zip(texts, lengths)]

    def motion_to_text(self, motions):
        self.calls.append(("motion_to_text", motions[0]))
        return [Result(text=f"a motion of {len(motions[0])} frames")]

    def _converse(self, turns, temperature=1.0, seed=None):
        self.calls.append(("converse", list(turns)))
        if turns[-1].text.startswith("describe"):
            return Result(text="a person walks forward")
        return Result(walking(60), "slower")


def fake_backend(tmp_path: Path, pipeline: FakePipeline) -> DemoBackend:
    return DemoBackend(pipeline, DemoSettings(video=False), SessionStore(root=tmp_path / "sessions"))


def test_two_turn_conversation_refers_to_the_last_motion(tmp_path: Path) -> None:
    pipe = FakePipeline()
    backend = fake_backend(tmp_path, pipe)
    first = backend.respond("a person waves the right hand", [], "s1", seconds=2.0)
    assert first.ok and first.glb.suffix == ".glb" and first.video is None and first.motion.shape == (40, 22, 3)
    second = backend.respond("describe what you made", [], "s1")
    assert second.text == "a person walks forward" and second.glb is None
    name, turns = pipe.calls[-1]
    assert name == "converse" and [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[0].text == "a person waves the right hand" and turns[1].motion is first.motion
    assert turns[2].motion is None  # "what you made" is turns[1].motion, not sent twice
    third = backend.respond("now make it slower", [], "s1")
    assert third.motion.shape == (60, 22, 3)
    other = backend.respond("describe what you made", [], "s2")  # another tab: no motion yet
    assert other.ok and pipe.calls[-1] == ("text_to_motion", ["describe what you made"])


def test_history_is_bounded(tmp_path: Path) -> None:
    pipe = FakePipeline()
    backend = fake_backend(tmp_path, pipe)
    backend.respond("a person jumps", [], "s")
    for i in range(MAX_HISTORY_TURNS):
        backend.respond(f"describe it {i}", [], "s")
    assert len(pipe.calls[-1][1]) == MAX_HISTORY_TURNS
    assert len(backend.conversations.get("s").turns) == MAX_HISTORY_TURNS
    backend.forget("s")
    assert backend.conversations.get("s").turns == []


def test_follow_up_without_converse_uses_the_last_motion(tmp_path: Path) -> None:
    pipe = FakePipeline(converse=False)
    backend = fake_backend(tmp_path, pipe)
    backend.respond("a person jumps", [], "s", seconds=1.5)
    reply = backend.respond("describe what you made", [], "s")
    assert reply.text == "a motion of 30 frames" and pipe.calls[-1][0] == "motion_to_text"
    assert isinstance(backend.conversations.get("s").turns[0], ChatTurn)


def _concurrently(fn, args: list) -> list:
    results: list = [None] * len(args)
    threads = [threading.Thread(target=lambda i=i, a=a: results.__setitem__(i, fn(*a))) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_prompts_share_batched_calls() -> None:
    pipe = FakePipeline(delay_s=0.2)
    worker = BatchingWorker(pipe, max_batch=8, window_s=0.05)
    texts = [f"prompt {i}" for i in range(8)]
    results = _concurrently(worker.text_to_motion, [(t, 8 + 4 * i, 1.0, None) for i, t in enumerate(texts)])
    assert [r.text for r in results] == texts and [len(r.joints) for r in results] == [8 + 4 * i for i in range(8)]
    assert len(pipe.calls) <= 2 and sum(worker.batch_sizes) == 8
    worker.close()


def test_seeded_and_bad_prompts_run_alone() -> None:
    pipe = FakePipeline(delay_s=0.05)
    worker = BatchingWorker(pipe, window_s=0.05)

    def ask(text: str, seed: int | None):
        try:
            return worker.text_to_motion(text, 8, 1.0, seed).text
        except app.CommandError as e:
            return str(e)

    answers = _concurrently(ask, [("a", 1), ("b", 1), ("bad", None), ("c", None)])
    assert answers == ["a", "b", "texts[0]: bad prompt", "c"]
    assert ("text_to_motion", ["a"]) in pipe.calls and ("text_to_motion", ["b"]) in pipe.calls
    worker.close()
