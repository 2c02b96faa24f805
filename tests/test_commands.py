"""The generate / caption / predict / inbetween / render commands: help, argument errors, outputs.

The model is replaced by `FakePipeline`, a test double with the Pipeline interface that returns a fixed
synthetic motion, so these tests check the commands' plumbing, not the model.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from synthetic import walking

from motiongpt import commands
from motiongpt.commands import main, seconds_to_frames, slugify


@dataclass
class FakeResult:
    features: np.ndarray | None
    joints: np.ndarray | None
    text: str | None = None
    ok: bool = True
    error: str | None = None


class FakePipeline:
    """Test double: records calls and answers with a synthetic motion of the requested length."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def _motion(self, frames: int, text: str | None = None) -> FakeResult:
        return FakeResult(np.zeros((frames, 263), np.float32), walking(frames), text)

    def text_to_motion(self, texts, lengths=None, num_samples=1, temperature=1.0, top_k=None, top_p=None, seed=None,
                       guidance=None):
        self.calls.append(("text_to_motion", (texts, lengths, num_samples, seed)))
        self.guidance = guidance
        frames = (lengths or [10])[0]
        return [self._motion(frames, texts[0]) for _ in range(num_samples)]

    def motion_to_text(self, motions, temperature=0.0, top_k=None, top_p=None, seed=None):
        self.calls.append(("motion_to_text", (motions,)))
        return [FakeResult(None, None, "a person walks forward") for _ in motions]

    def predict(self, prefixes, lengths, temperature=1.0, top_k=None, top_p=None, seed=None):
        self.calls.append(("predict", (prefixes, lengths)))
        return [self._motion(n) for n in lengths]

    def inbetween(self, starts, ends, lengths, temperature=1.0, top_k=None, top_p=None, seed=None):
        self.calls.append(("inbetween", (starts, ends, lengths)))
        return [FakeResult(None, None, None, ok=False, error="the model produced an empty motion")]


def test_fake_matches_real_pipeline_signatures() -> None:
    """The double must stay call-compatible with motiongpt.lm.pipeline.Pipeline."""
    pipeline_mod = pytest.importorskip("motiongpt.lm.pipeline", reason="lm.pipeline not written yet")
    for name in ("text_to_motion", "motion_to_text", "predict", "inbetween"):
        real = inspect.signature(getattr(pipeline_mod.Pipeline, name)).parameters
        fake = inspect.signature(getattr(FakePipeline, name)).parameters
        assert list(fake) == [p for p in real if p in fake], name
        assert set(fake) <= set(real), name


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakePipeline:
    pipeline = FakePipeline()
    monkeypatch.setattr(commands, "load_pipeline", lambda model_dir: pipeline)
    return pipeline


@pytest.fixture
def motion_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip_joints.npy"
    np.save(path, walking(16))
    return path


@pytest.mark.parametrize("name", commands.COMMAND_NAMES)
def test_help_exits_zero_with_example(name: str, capsys: pytest.CaptureFixture) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"motiongpt {name}" in out and "example" in out


def test_unknown_command_and_bad_arguments(capsys: pytest.CaptureFixture) -> None:
    assert main(["dance"]) == 2
    assert main(["generate"]) == 2  # missing text
    assert main(["generate", "a jump", "--seconds", "abc"]) == 2
    assert main(["generate", "a jump", "--seconds", "100"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'dance'" in err and "not a number of seconds" in err and "(0, 10]" in err


def test_missing_model_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["generate", "a person jumps", "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("motiongpt generate: error: no model at") and "--model" in err
    assert "Traceback" not in err and "\n" not in err.split("loading")[0]


def test_bad_motion_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    np.save(tmp_path / "bad.npy", np.zeros((4, 7)))
    assert main(["render", str(tmp_path / "bad.npy")]) == 2
    assert main(["caption", str(tmp_path / "missing.bvh")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("motiongpt render: error:") and "bad.npy" in err[0] and "(4, 7)" in err[0]
    assert "missing.bvh: no such file" in err[1]


def test_generate_writes_every_output(fake: FakePipeline, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("motiongpt.io.bvh", reason="io.bvh not written yet")
    code = main(["generate", "A person waves!", "--seconds", "1", "--out", str(tmp_path), "--seed", "3"])
    assert code == 0
    assert fake.calls == [("text_to_motion", (["A person waves!"], [20], 1, 3))]
    stem = tmp_path / "a_person_waves"
    for suffix in (".mp4", ".bvh", "_joints.npy", "_features.npy", ".json", ".txt"):
        assert Path(f"{stem}{suffix}").exists(), suffix
    assert np.load(f"{stem}_joints.npy").shape == (20, 22, 3)
    assert (tmp_path / "a_person_waves.txt").read_text().strip() == "A person waves!"
    assert str(stem) + ".mp4" in capsys.readouterr().out


def test_generate_several_samples_without_video(fake: FakePipeline, tmp_path: Path) -> None:
    pytest.importorskip("motiongpt.io.bvh", reason="io.bvh not written yet")
    assert main(["generate", "jump", "--num-samples", "2", "--no-video", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == []
    assert (tmp_path / "jump_0_joints.npy").exists() and (tmp_path / "jump_1_joints.npy").exists()


def test_caption_prints_text(fake: FakePipeline, motion_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["caption", str(motion_file)]) == 0
    assert capsys.readouterr().out.strip() == "a person walks forward"
    (motions,) = fake.calls[0][1]
    assert motions[0].shape == (16, 22, 3)


def test_predict_lengths(fake: FakePipeline, motion_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert main(["predict", str(motion_file), "--seconds", "1", "--prefix-seconds", "0.5", "--no-video",
                 "--out", str(out)]) == 0
    prefixes, lengths = fake.calls[0][1]
    assert prefixes[0].shape == (10, 22, 3) and lengths == [30]  # last 0.5 s + 1 s at 20 fps
    assert np.load(out / "clip_joints_continued_joints.npy").shape == (30, 22, 3)


def test_failed_generation_is_reported(fake: FakePipeline, motion_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["inbetween", str(motion_file), str(motion_file), "--seconds", "2"]) == 2
    assert "in-betweening failed: the model produced an empty motion" in capsys.readouterr().err
    assert fake.calls[0][1][2] == [16 + 40 + 16]  # start + 2 s gap + end, in frames


def test_render_side_by_side_and_strip(motion_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "both.mp4"
    assert main(["render", str(motion_file), str(motion_file), "--out", str(out), "--caption", "a", "--caption", "b"]) == 0
    assert out.exists()
    assert main(["render", str(motion_file), "--strip", "--frames", "3"]) == 0
    assert motion_file.with_suffix(".png").exists()
    assert main(["render", str(motion_file), "--caption", "a", "--caption", "b"]) == 2
    assert "2 --caption for 1 files" in capsys.readouterr().err


def test_helpers() -> None:
    assert slugify("A person waves, then JUMPS twice high up!") == "a_person_waves_then_jumps_twice"
    assert slugify("!!!") == "motion"
    assert seconds_to_frames(4) == 80 and seconds_to_frames(0.01) == 1


def test_long_prompt_is_cut_with_one_line_note(fake: FakePipeline, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    text = "a person walks forward and " * 400  # 10,800 characters
    assert main(["generate", text, "--format", "npy", "--out", str(tmp_path)]) == 0
    used = fake.calls[0][1][0][0]
    assert len(used) <= commands.MAX_PROMPT_CHARS and text.startswith(used)
    notes = [line for line in capsys.readouterr().err.splitlines() if "characters" in line]
    assert notes == [f"note: the text has {len(text.strip())} characters; using the first {len(used)} (limit 300)"]


def test_generate_formats_choose_the_outputs(fake: FakePipeline, tmp_path: Path) -> None:
    assert main(["generate", "jump", "--format", "bvh,json", "--name", "j", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.bvh", "j.json", "j.txt"]


def test_generate_glb_format(fake: FakePipeline, tmp_path: Path) -> None:
    pytest.importorskip("motiongpt.io.gltf", reason="motiongpt.io.gltf (helper D) not written yet")
    assert main(["generate", "jump", "--format", "glb", "--name", "j", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "j.glb").read_bytes()[:4] == b"glTF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.glb", "j.txt"]


def test_generate_writes_all_or_nothing(fake: FakePipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    """A writer failing half-way (disk full) leaves no output at all, and the error names the file."""
    import errno

    import motiongpt.service as service

    def disk_full(path, joints, fps=20):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(service, "save_bvh", disk_full)
    out = tmp_path / "out"
    assert main(["generate", "jump", "--num-samples", "2", "--no-video", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"motiongpt generate: error: {out / 'jump_0.bvh'}: cannot write: No space left on device"
    assert list(out.iterdir()) == []  # staging folder removed, nothing moved into place


def test_sampling_options_refused_before_the_model_loads(fake: FakePipeline, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    for bad in (["--temperature", "-1"], ["--temperature", "nan"], ["--top-p", "2"], ["--top-p", "0"],
                ["--top-k", "0"], ["--seconds", "30"], ["--name", "../../x"], ["--name", ".hidden"],
                ["--guidance", "0"], ["--guidance", "inf"]):
        assert main(["generate", "jump", *bad, "--out", str(tmp_path)]) == 2, bad
    assert fake.calls == [] and list(tmp_path.iterdir()) == []
    assert main(["generate", "jump", "--temperature", "0", "--top-p", "1", "--top-k", "1", "--name", "ok.v2",
                 "--guidance", "2.5", "--no-video", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "ok.v2.bvh").exists() and fake.guidance == 2.5


def test_output_stem_of_odd_file_names_stays_inside_out(fake: FakePipeline, tmp_path: Path) -> None:
    src = tmp_path / ".. odd name!.npy"
    np.save(src, walking(16))
    out = tmp_path / "o"
    assert main(["predict", str(src), "--seconds", "1", "--format", "npy", "--out", str(out)]) == 0
    assert [p.parent for p in out.iterdir()] == [out] * len(list(out.iterdir()))
    assert (out / "odd_name_continued_joints.npy").exists()
