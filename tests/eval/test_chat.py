"""eval chat: reply kinds, attached motions, right-kind shares and action accuracy with doubles."""
import argparse

import numpy as np
import pytest

from motiongpt.eval import chat as C
from motiongpt.eval.devsets import ChatMessage
from motiongpt.lm.pipeline import MotionResult

MESSAGES = [
    ChatMessage("show me a wave", "motion", "wave-left-hand", False),
    ChatMessage("make him bow", "motion", "bow", False),
    ChatMessage("what is he doing?", "text", "run", True),
    ChatMessage("what happens next?", "motion", None, True),
]


class Recognizer:
    """Recognises a motion by its first feature value: 0 -> bow, else wave-left-hand."""

    def predict(self, features):
        names = ["bow" if f[0, 0] == 0 else "wave-left-hand" for f in features]
        return argparse.Namespace(names=names)


def _motion(value: float) -> MotionResult:
    return MotionResult(features=np.full((8, 263), value, np.float32), joints=np.zeros((8, 22, 3)))


def test_reply_kind():
    assert C.reply_kind(_motion(1.0)) == "motion"
    assert C.reply_kind(MotionResult(text="a man runs")) == "text"
    assert C.reply_kind(MotionResult(text="  ")) == "none"
    assert C.reply_kind(MotionResult(ok=False, error="bad")) == "none"


def test_attach_motions_by_label():
    by_label = {"run": ["r1", "r2"], "bow": ["b1"]}
    got = C.attach_motions(MESSAGES, by_label, lambda mid: mid, np.random.default_rng(0))
    assert got[0] is None and got[1] is None
    assert got[2] in ("r1", "r2") and got[3] in ("b1", "r1", "r2")
    with pytest.raises(ValueError, match="needs a motion"):
        C.attach_motions(MESSAGES, {}, lambda mid: mid, np.random.default_rng(0))


def test_score_chat_hand_computed():
    replies = [_motion(1.0), _motion(1.0), MotionResult(text="a person runs"), MotionResult(text="more")]
    scores = C.score_chat(MESSAGES, replies, Recognizer())
    assert scores["Right kind"] == 0.75 and scores["Right kind (text)"] == 1.0
    assert scores["Right kind (motion)"] == pytest.approx(2 / 3)
    assert scores["motion requests with a label"] == 2 and scores["motion replies"] == 2
    assert scores["Action acc. (motion replies)"] == 0.5 and scores["Action acc. (all)"] == 0.5
    without = C.score_chat(MESSAGES, [MotionResult(text="x")] * 4)
    assert without["Action acc. (all)"] is None and without["motion replies"] == 0
    assert "| – |" in C.markdown_table("chat", without)


def test_chat_replies_batches_and_passes_motions():
    calls = []

    class Pipe:
        def chat(self, texts, motions, seed):
            calls.append((list(texts), motions, seed))
            return [MotionResult(text=t) for t in texts]

    replies = C.chat_replies(Pipe(), MESSAGES, [None, None, "m", "n"], batch_size=3, seed=10)
    assert [r.text for r in replies] == [m.text for m in MESSAGES]
    assert [c[2] for c in calls] == [10, 13] and calls[1][1] == ["n"]
