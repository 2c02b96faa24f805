import numpy as np
import pytest
import torch

from motiongpt.lm.model import MotionLM
from motiongpt.lm.pipeline import MotionResult, Pipeline


@pytest.fixture()
def pipe(vocab, motion_tokenizer):
    return Pipeline(MotionLM.from_preset("tiny", vocab, seed=0), motion_tokenizer, device="cpu")


def _motion(frames, seed=0):
    return np.random.default_rng(seed).normal(size=(frames, 263)).astype(np.float32) * 0.1


def _check_motion(r: MotionResult, frames=None):
    assert r.ok, r.error
    assert r.features.shape[1] == 263 and r.joints.shape == (r.features.shape[0], 22, 3)
    assert len(r.tokens) * 4 == r.frames
    if frames is not None:
        assert abs(r.frames - frames) <= 4


def test_text_to_motion_honours_lengths_batched(pipe):
    res = pipe.text_to_motion(["a person walks", "someone waves", ""], lengths=[37, 120, 64], num_samples=2,
                              seed=0)
    assert len(res) == 6
    for r, n in zip(res, [37, 37, 120, 120, 64, 64]):
        _check_motion(r, n)
    assert res[0].text == "a person walks"
    free = pipe.text_to_motion("a man runs", seed=1)
    _check_motion(free[0])
    assert free[0].frames <= pipe.lm.max_motion_tokens * 4


def test_same_seed_same_motion(pipe):
    a = pipe.text_to_motion(["a person walks"], lengths=[60], seed=5)[0]
    b = pipe.text_to_motion(["a person walks"], lengths=[60], seed=5)[0]
    assert torch.equal(a.tokens, b.tokens)


def test_motion_to_text_predict_inbetween_chat(pipe):
    feats = _motion(48)
    joints = pipe.decode([torch.arange(10) % 16])[0].joints  # (40, 22, 3)
    caps = pipe.motion_to_text([feats, joints])
    assert len(caps) == 2
    for c in caps:
        assert c.ok == bool(c.text) and c.features is not None
    pred = pipe.predict([feats], lengths=100, seed=0)[0]
    _check_motion(pred, 100)
    assert torch.equal(pred.tokens[:12], pipe.encode([feats])[0])
    mid = pipe.inbetween([feats], [_motion(24, 1)], lengths=[140], seed=0)[0]
    _check_motion(mid, 140)
    chats = pipe.chat(["Describe <Motion_Placeholder> please", "Show me a walk"], motions=[feats, None],
                      temperature=1.0, seed=0)
    assert len(chats) == 2 and all(isinstance(c, MotionResult) for c in chats)
    for c in chats:
        assert c.ok or c.error


def test_malformed_generation_gives_typed_result(pipe, monkeypatch):
    v = pipe.vocab
    words = v.encode_text("a person")
    fake = [torch.tensor(words + [v.eos_id]), torch.tensor([v.som_id, *v.motion_to_lm(torch.tensor([1, 2])).tolist()])]
    monkeypatch.setattr(pipe.lm, "generate", lambda *a, **k: fake)
    res = pipe.text_to_motion(["a", "b"], lengths=[16, 16])
    assert [r.ok for r in res] == [False, False]
    assert "text" in res[0].error and "end-of-motion" in res[1].error
    assert res[0].features is None


def test_bad_inputs_raise_clear_errors(pipe):
    with pytest.raises(ValueError, match=r"motions\[0\].*shape"):
        pipe.motion_to_text([np.zeros((10, 7))])
    with pytest.raises(ValueError, match=r"lengths\[0\]"):
        pipe.text_to_motion(["a"], lengths=[10_000])
    with pytest.raises(ValueError, match="nothing to generate"):
        pipe.predict([_motion(80)], lengths=[40])
    with pytest.raises(FileNotFoundError, match="missing.bvh"):
        pipe.motion_to_text(["missing.bvh"])


def test_from_pretrained_round_trip(pipe, tmp_path):
    pipe.lm.save_pretrained(tmp_path / "lm")
    pipe.tokenizer.save_pretrained(tmp_path / "tokenizer")
    again = Pipeline.from_pretrained(tmp_path, device="cpu")
    a = pipe.text_to_motion(["someone waves"], lengths=[40], seed=2)[0]
    b = again.text_to_motion(["someone waves"], lengths=[40], seed=2)[0]
    assert torch.equal(a.tokens, b.tokens) and np.allclose(a.features, b.features, atol=1e-5)
    with pytest.raises(FileNotFoundError, match="lm"):
        Pipeline.from_pretrained(tmp_path / "nowhere")


def test_inbetween_with_offset_lands_on_the_end_clip(pipe):
    from motiongpt.motion.trajectory import RootOffset, place, root_track

    start, end = _motion(24), _motion(24, 1)
    target = RootOffset(1.5, -0.4, 45.0)
    res = pipe.inbetween([start], [end], lengths=[120], offsets=[target], texts=["a man walks"], seed=0)[0]
    _check_motion(res, 120)
    goal = place(root_track(start)[-1], target)  # measured from the given start clip, not its decoding
    assert root_track(res.features)[res.frames - 24] == pytest.approx(goal, abs=1e-3)


def test_converse_keeps_the_last_motion_and_bounds_history(pipe, monkeypatch):
    from motiongpt.lm.pipeline import ChatTurn

    first = pipe.converse([ChatTurn("user", "show me a person walks")], temperature=1.0, seed=0)
    assert first.ok or first.error
    motion = pipe.decode([torch.arange(6) % 16])[0].features
    turns = [ChatTurn("user", "show me a person walks"), ChatTurn("assistant", "", motion),
             ChatTurn("user", "describe what you made")]
    seen = []
    original = pipe.lm.generate
    def spy(prompts, *args, **kwargs):
        seen.extend(prompts)
        return original(prompts, *args, **kwargs)

    monkeypatch.setattr(pipe.lm, "generate", spy)
    reply = pipe.converse(turns)
    assert reply.ok or reply.error
    assert int(pipe.vocab.is_motion(seen[-1]).sum()) == 6  # the assistant's motion is in the prompt
    long_talk = [ChatTurn("user", "someone waves the right hand " * 30)] * 6 + turns
    monkeypatch.setattr(pipe, "context_tokens", lambda: 80)
    pipe.converse(long_talk)
    assert len(seen[-1]) <= 80 and int(pipe.vocab.is_motion(seen[-1]).sum()) == 6
    with pytest.raises(ValueError, match="end with a user turn"):
        pipe.converse(turns[:2])
    with pytest.raises(ValueError, match="role"):
        pipe.converse([ChatTurn("robot", "hi"), turns[-1]])


def test_predict_and_inbetween_keep_the_given_clips(pipe):
    from motiongpt.motion.features import HUMANML3D_LAYOUT as L
    from motiongpt.motion.trajectory import STEP_GROUPS

    step = np.zeros(L.dim, dtype=bool)
    for name in STEP_GROUPS:
        step[L.slice(name)] = True
    start, end = _motion(26), _motion(24, 1)  # the tokens cover the first 24 frames of the start clip
    pred = pipe.predict([start], lengths=[64], seed=0)[0]
    _check_motion(pred, 64)
    assert np.array_equal(pred.features[:24, ~step], start[:24, ~step])
    assert np.array_equal(pred.features[:23], start[:23])  # the last given row's step leads out of the clip
    assert not np.array_equal(pred.features[24:], pipe.decode([pred.tokens])[0].features[24:])  # faded in
    mid = pipe.inbetween([start], [end], lengths=[96], seed=0, fade=4)[0]
    _check_motion(mid, 96)
    assert np.array_equal(mid.features[:23], start[:23]) and np.array_equal(mid.features[-24:], end)
    assert np.allclose(mid.features[32:-28], pipe.decode([mid.tokens])[0].features[32:-28])  # beyond the fades
