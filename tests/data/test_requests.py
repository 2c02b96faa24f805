"""Everyday requests composed from action labels (training-time caption rephrasing) and typo injection."""
import random
import re

import pytest

from motiongpt.data.captions import CONTENTS, conjugate, plain_phrase
from motiongpt.data.requests import EVERYDAY, add_typo, request_caption


def test_every_content_has_everyday_phrases_starting_with_a_verb():
    assert set(EVERYDAY) == set(CONTENTS)
    for content, phrases in EVERYDAY.items():
        for p in phrases:
            assert re.fullmatch(r"[a-z]+", p.split(" ")[0]), (content, p)
            assert conjugate(p, "progressive").split(" ")[0].endswith("ing"), (content, p)


@pytest.mark.parametrize("content", sorted(CONTENTS))
def test_requests_are_plain_text_and_keep_the_side(content):
    rng = random.Random(0)
    for _ in range(40):
        text = request_caption(content, rng)
        assert text and "{" not in text and "^" not in text and "  " not in text
        if content.endswith("-right") or "right-hand" in content:
            assert "left" not in text
        if content.endswith("-left") or "left-hand" in content:
            assert "right" not in text


def test_requests_are_drawn_from_the_rng_and_vary():
    texts = [request_caption("kick", random.Random(s)) for s in range(30)]
    assert texts == [request_caption("kick", random.Random(s)) for s in range(30)]
    assert len(set(texts)) > 20
    assert any(t.startswith(("make ", "have ", "let ", "can you")) for t in texts)


def test_first_person_requests_say_my_and_object_frames_say_him():
    rng = random.Random(3)
    texts = [request_caption("raise-up-left-hand", rng) for _ in range(400)]
    assert not any(re.search(r"\b(show me|animate|generate|see|like) (he|she)\b", t) for t in texts)
    assert not any(t.startswith("i want to see") and " my " in t for t in texts)


def test_unknown_content_is_a_key_error():
    with pytest.raises(KeyError, match="no phrases for content 'fly'"):
        request_caption("fly", random.Random(0))


def test_add_typo_misspells_exactly_one_long_word():
    text = "a person waves goodbye to a friend"
    for s in range(50):
        out = add_typo(text, random.Random(s))
        changed = [(a, b) for a, b in zip(text.split(), out.split()) if a != b]
        assert len(out.split()) == len(text.split()) and len(changed) == 1
        before, after = changed[0]
        assert len(before) >= 4 and abs(len(after) - len(before)) <= 1 and after[0] == before[0]
    assert add_typo("a man", random.Random(0)) == "a man"


def test_bank_phrases_are_not_duplicated_in_everyday():
    for content, phrases in EVERYDAY.items():
        assert not {plain_phrase(p) for p in phrases} & {plain_phrase(p) for p in CONTENTS[content].actions}, content
