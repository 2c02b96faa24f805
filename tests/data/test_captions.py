"""Caption composition, left/right swapping and HumanML3D token format."""
from __future__ import annotations

import re

import pytest

from motiongpt.data.captions import (
    CONTENTS, STYLES, caption_lines, compose_captions, label_name, swap_left_right, swap_left_right_tokens, tag_texts,
)
from motiongpt.data.layout import parse_caption_line

SET1_CONTENTS = ("walk run dash walk-back walk-left walk-right bow bye guide byebye respond call punch kick slash "
                 "dance-long dance-short").split()
SET2_CONTENTS = ("walk walk-turn-left walk-turn-right run wave-both-hands wave-left-hand wave-right-hand "
                 "raise-up-both-hands raise-up-left-hand raise-up-right-hand").split()
SET1_STYLES = ("normal happy sad angry proud not-confident masculinity feminine childish old tired active musical "
               "giant chimpira").split()
SET2_STYLES = "active elderly exhausted feminine masculine normal youthful".split()


def test_every_bandai_label_has_a_bank() -> None:
    assert set(SET1_CONTENTS + SET2_CONTENTS) <= set(CONTENTS)
    assert set(SET1_STYLES + SET2_STYLES) <= set(STYLES)


@pytest.mark.parametrize("content", sorted(set(SET1_CONTENTS + SET2_CONTENTS)))
def test_at_least_three_distinct_captions_deterministic(content: str) -> None:
    for style in ("normal", "elderly", "chimpira"):
        caps = compose_captions(content, style, "000042")
        assert len(set(caps)) == len(caps) >= 3
        assert caps == compose_captions(content, style, "000042")
        assert all("{" not in c and c[0].islower() and c.endswith(".") for c in caps)


def test_captions_vary_between_motions_and_express_style() -> None:
    seen = {c for i in range(20) for c in compose_captions("walk", "tired", f"{i:06d}")}
    assert len(seen) > 30
    verbs = {c.split()[2] for c in seen}
    assert len(verbs) > 5
    manner = ("tired", "exhausted", "weary", "wearily", "sluggishly", "listlessly", "worn", "slowly", "drag", "fatigue",
              "energy", "barely", "slumped")
    assert all(any(w in c for w in manner) for c in seen)


def test_side_words_match_the_label() -> None:
    for key in map(str, range(10)):
        assert all("left" in c and "right" not in c for c in compose_captions("dataset-2_wave-left-hand", "normal", key))
        assert all("right" in c and "left" not in c for c in compose_captions("walk-turn-right", "youthful", key))


def test_unknown_label_errors() -> None:
    with pytest.raises(KeyError, match="content 'fly'"):
        compose_captions("fly", "normal", "1")
    assert label_name("dataset-1_not-confident") == "not-confident"


def test_swap_left_right() -> None:
    assert swap_left_right("Left hand, then turns right and walks leftward clockwise.") == \
        "Right hand, then turns left and walks rightward counterclockwise."
    assert swap_left_right(swap_left_right("waves their left hand")) == "waves their left hand"
    assert swap_left_right("a bright light") == "a bright light"  # whole words only
    assert swap_left_right_tokens(("turn/VERB", "left/ADJ")) == ("turn/VERB", "right/ADJ")


def test_tokens_follow_humanml3d_process_text() -> None:
    tokens = tag_texts(["A man kicks something with his left leg."])[0]
    words = [t.split("/")[0] for t in tokens]
    assert words == ["a", "man", "kick", "something", "with", "his", "left", "leg"]
    assert all(re.fullmatch(r"[a-z]+/[A-Z]+", t) for t in tokens)
    assert tokens[2] == "kick/VERB"


def test_caption_lines_parse_back() -> None:
    texts = compose_captions("raise-up-left-hand", "old", "7")
    for line, text in zip(caption_lines(texts), texts):
        cap = parse_caption_line(line)
        assert cap.text == text and cap.whole and len(cap.tokens) >= 3
