import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from motiongpt.lm.generation import MODES
from motiongpt.lm.templates import (CONVERSATION, CUTS, GROUPS, MOTION, STAGES, Fields, LMSample, TemplateError,
                                    Turn, build_example, load_tasks, motion_span, offset_text, render,
                                    sample_fields, select_task, span_mask, split_inbetween, split_predict,
                                    stage_tasks)
from motiongpt.motion.trajectory import RootOffset

PAPER_SUBTASKS = {
    "text-to-motion": {"t2m", "t2m_frames", "t2m_seconds", "t2m_length_only", "t2m_unconditional"},
    "motion-to-text": {"m2t", "m2t_length", "m2t_frames", "m2t_seconds"},
    "text-to-text": {"t2t_length", "t2t_caption", "t2t_random"},
    "motion-to-motion": {"m2m_predict", "m2m_inbetween", "m2m_inbetween_at", "m2m_inbetween_text",
                         "m2m_predict_text"},
    "chat": {"chat_show", "chat_describe", "chat_next", "chat_followup_describe", "chat_followup_continue",
             "chat_followup_new", "chat_followup_repeat"},
}


def _walk_track(frames: int, speed: float = 0.05) -> np.ndarray:
    """Root walking straight ahead (+Z, yaw 0) at `speed` m per frame."""
    t = np.arange(frames, dtype=np.float64)
    return np.stack([np.zeros(frames), speed * t, np.zeros(frames)], axis=1)


def _full(sample: LMSample, other: LMSample) -> LMSample:
    return replace(sample, track=_walk_track(sample.frames), other=other)


def test_every_trained_task_has_ten_distinct_phrasings():
    tasks = load_tasks()
    for group, names in PAPER_SUBTASKS.items():
        for name in names:
            task = tasks[name]
            assert task.group == group and "instruct" in task.stages
            assert len(set(task.inputs)) >= 10, name
    assert {t.group for t in tasks.values()} <= set(GROUPS)


def test_every_declaration_is_complete():
    for task in load_tasks().values():
        assert set(task.stages) <= set(STAGES) and task.output in MODES and task.cut in CUTS
    assert stage_tasks("pretrain") == ("pretrain_t2m", "pretrain_m2t", "pretrain_span")
    instruct = stage_tasks("instruct")
    assert {"t2m", "m2t", "m2m_inbetween_at", "chat_followup_describe"} <= set(instruct)
    assert "chat" not in instruct  # inference-only declaration
    with pytest.raises(TemplateError, match="unknown stage"):
        stage_tasks("finetune")


def test_every_task_renders_for_every_phrasing(vocab, samples):
    rng = random.Random(0)
    for task in load_tasks().values():
        if not task.stages:
            continue
        for k in range(len(task.inputs)):
            sample = _full(samples[k % len(samples)], samples[(k + 1) % len(samples)])
            ex = build_example(task, sample, vocab, rng, phrasing=k)
            assert ex.input_ids[-1] == vocab.eos_id and ex.target_ids[-1] == vocab.eos_id
            assert int(ex.input_ids.max()) < vocab.size and int(ex.input_ids.min()) >= 0
            assert vocab.is_motion(ex.target_ids).any() == task.output_is_motion


def test_motion_is_spliced_as_ids_and_lengths_are_real_frames(vocab):
    codes = torch.tensor([3, 1, 4, 1, 5])
    sample = LMSample(codes, frames=23, caption="a man waves")
    task = load_tasks()["t2m_frames"]
    ex = build_example(task, sample, vocab, random.Random(0), phrasing=0)
    assert torch.equal(ex.target_ids[:-1], motion_span(codes, vocab))
    assert "23" in vocab.decode_text(ex.input_ids)  # the real length, not 4 * token count
    m2t = build_example(load_tasks()["m2t"], sample, vocab, random.Random(0), phrasing=0)
    span = motion_span(codes, vocab)
    start = int((m2t.input_ids == vocab.som_id).nonzero()[0])
    assert torch.equal(m2t.input_ids[start:start + len(span)], span)
    assert vocab.decode_text(m2t.target_ids) == "a man waves"


def test_inbetween_example_states_where_the_end_clip_stands(vocab):
    codes = torch.arange(20) % 16  # 20 tokens: start = tokens 0..4, end = tokens 15..19
    sample = LMSample(codes, frames=80, caption="a man walks", track=_walk_track(80, speed=0.05))
    for seed in range(5):
        fields = sample_fields(load_tasks()["m2m_inbetween_at"], sample, random.Random(seed))
        n = len(fields.motions["<Motion_Prefix_Placeholder>"])  # 15-30% of the tokens given at each end
        assert 3 <= n <= 6 and len(fields.motions["<Motion_Suffix_Placeholder>"]) == n
        gap_frames = 4 * (20 - n) - (4 * n - 1)  # last start frame 4n-1 -> first end frame 4(20-n)
        assert fields.offset.ahead == pytest.approx(0.05 * gap_frames) and fields.offset.left == pytest.approx(0.0)
    ex = build_example(load_tasks()["m2m_inbetween_at"], sample, vocab, random.Random(0), phrasing=0)
    assert " m ahead, 0.0 m to the left, facing 0 degrees left" in vocab.decode_text(ex.input_ids)


def test_offset_text_rounds_to_tenths_and_fifteen_degrees():
    assert offset_text(RootOffset(1.83, 0.27, 97.0)) == \
        "the end clip starts 1.8 m ahead, 0.3 m to the left, facing 90 degrees left"
    assert offset_text(RootOffset(-0.04, -1.26, -175.0)) == \
        "the end clip starts 0.0 m ahead, 1.3 m to the right, facing 180 degrees left"


def test_motion_splits():
    codes = torch.arange(20)
    prefix, rest = split_predict(codes)
    assert len(prefix) == 4 and torch.equal(torch.cat([prefix, rest]), codes)
    start, middle, end = split_inbetween(codes)
    assert len(start) == len(end) == 5 and torch.equal(torch.cat([start, middle, end]), codes)
    s, m, e = split_inbetween(torch.arange(3))
    assert len(s) == len(m) == len(e) == 1
    assert len(split_predict(codes, 0.35)[0]) == 7 and len(split_inbetween(codes, 0.15)[0]) == 3


def test_span_mask_collapses_spans():
    codes = torch.arange(40)
    masked = span_mask(codes, random.Random(1))
    assert (masked == -1).any() and len(masked) < len(codes)
    kept = masked[masked >= 0]
    assert torch.all(kept[1:] > kept[:-1])


def test_missing_fields_raise(vocab):
    with pytest.raises(TemplateError, match="no caption"):
        build_example(load_tasks()["t2m"], LMSample(torch.tensor([1, 2]), 8), vocab, random.Random(0))
    with pytest.raises(TemplateError, match="motion tokens"):
        build_example(load_tasks()["m2m_inbetween"], LMSample(torch.tensor([1, 2]), 8), vocab, random.Random(0))
    with pytest.raises(TemplateError, match="no track"):
        build_example(load_tasks()["m2m_inbetween_at"], LMSample(torch.arange(8), 32), vocab, random.Random(0))


def test_select_task_by_available_fields():
    order = ("t2m_frames", "t2m", "t2m_length_only", "t2m_unconditional")
    assert select_task(order, Fields(caption="a man waves", frames=40)).name == "t2m_frames"
    assert select_task(order, Fields(caption="a man waves")).name == "t2m"
    assert select_task(order, Fields(frames=40)).name == "t2m_length_only"
    assert select_task(order, Fields()).name == "t2m_unconditional"
    with pytest.raises(TemplateError, match="none of the tasks"):
        select_task(("m2t",), Fields(caption="x"))


def test_conversation_renders_like_the_multi_turn_training_phrasing(vocab):
    codes = torch.tensor([3, 1, 4])
    task = load_tasks()["chat_followup_describe"]
    trained = render(task.inputs[0], Fields(caption="a man waves", motions={MOTION: codes}), vocab)
    turns = (Turn("user", "show me a man waves"), Turn("assistant", "", codes), Turn("user", "describe what you made."))
    assert torch.equal(render(CONVERSATION, Fields(turns=turns), vocab), trained)
    single = render(CONVERSATION, Fields(turns=(Turn("user", "what is he doing?", codes),)), vocab)
    assert torch.equal(single, render(load_tasks()["chat_describe"].inputs[0], Fields(motions={MOTION: codes}),
                                      vocab))
