import random

import pytest
import torch

from motiongpt.lm.templates import (GROUPS, LMSample, TemplateError, build_example, load_tasks, motion_span,
                                    span_mask, split_inbetween, split_predict)

PAPER_SUBTASKS = {
    "text-to-motion": {"t2m", "t2m_frames", "t2m_seconds", "t2m_length_only", "t2m_unconditional"},
    "motion-to-text": {"m2t", "m2t_length", "m2t_frames", "m2t_seconds"},
    "text-to-text": {"t2t_length", "t2t_caption", "t2t_random"},
    "motion-to-motion": {"m2m_predict", "m2m_inbetween"},
}


def test_every_paper_subtask_has_ten_distinct_phrasings():
    tasks = load_tasks()
    for group, names in PAPER_SUBTASKS.items():
        for name in names:
            task = tasks[name]
            assert task.group == group
            assert len(set(task.inputs)) >= 10, name
    assert {t.group for t in tasks.values()} <= set(GROUPS)


def test_every_task_renders_for_every_phrasing(vocab, samples):
    rng = random.Random(0)
    for task in load_tasks().values():
        for k in range(len(task.inputs)):
            ex = build_example(task, samples[k % len(samples)], vocab, rng, phrasing=k)
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


def test_motion_splits():
    codes = torch.arange(20)
    prefix, rest = split_predict(codes)
    assert len(prefix) == 4 and torch.equal(torch.cat([prefix, rest]), codes)
    start, middle, end = split_inbetween(codes)
    assert len(start) == len(end) == 5 and torch.equal(torch.cat([start, middle, end]), codes)
    s, m, e = split_inbetween(torch.arange(3))
    assert len(s) == len(m) == len(e) == 1


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
