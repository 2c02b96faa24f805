"""A new task is one declaration (+ a cut function): declared here only, trained, rendered and generated."""
import random

import pytest
import torch

from motiongpt.data.layout import Caption
from motiongpt.lm.batch import collate
from motiongpt.lm.data import LMDataset, MotionItem
from motiongpt.lm.model import MotionLM
from motiongpt.lm.pipeline import Pipeline
from motiongpt.lm.templates import CUTS, MOTION, REST, Fields, LMSample, parse_task, register_cut

REVERSE = {
    "name": "m2m_reverse", "group": "motion-to-motion", "stages": ["instruct"], "output": "motion",
    "cut": "reverse", "needs": ["motion"],
    "inputs": ["Play this motion backwards: <Motion_Placeholder>", "Reverse <Motion_Placeholder>"],
    "outputs": ["<Motion_Rest_Placeholder>"],
}


@pytest.fixture()
def reverse_task():
    """The declaration plus its cut function, registered for this test only."""
    @register_cut("reverse", min_tokens=2, whole=(REST,))
    def cut_reverse(sample: LMSample, rng: random.Random) -> Fields:
        codes = torch.as_tensor(sample.codes).flatten()
        return Fields(frames=sample.frames, motions={MOTION: codes, REST: codes.flip(0)})

    yield parse_task(REVERSE, "test declaration")
    CUTS.pop("reverse")


def test_declared_task_trains_and_generates(reverse_task, vocab, samples, motion_tokenizer):
    items = [MotionItem(f"{i}", [Caption(s.caption, ())], s.codes.numpy()[None], s.frames)
             for i, s in enumerate(samples)]
    dataset = LMDataset("unused", "unused", "train", [reverse_task], vocab, items=items)
    rng = random.Random(0)
    examples = [dataset.example(i, rng) for i in range(len(items))]
    assert {e.task for e in examples} == {"m2m_reverse"}
    assert torch.equal(vocab.lm_to_motion(examples[0].target_ids[1:-2]), samples[0].codes.flip(0))

    lm = MotionLM.from_preset("tiny", vocab, dropout=0.0, seed=0)
    batch = collate(examples, vocab.pad_id, lm.causal)
    opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = lm(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]

    pipe = Pipeline(lm, motion_tokenizer, device="cpu")
    pipe.tasks["m2m_reverse"] = reverse_task
    codes = samples[1].codes
    [res] = pipe.run("m2m_reverse", [Fields(motions={MOTION: codes})], tokens=[len(codes)], seed=0)
    assert res.ok, res.error
    assert len(res.tokens) == len(codes) and res.frames == 4 * len(codes)
