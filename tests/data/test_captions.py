"""Caption composition (many phrasings, conjugation, sides), left/right swapping and HumanML3D token format."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from motiongpt.data.captions import (
    CAPTIONS_PER_MOTION, CONTENTS, PLAIN_SUBJECTS, STYLES, bank_texts, caption_lines, compose_captions, conjugate,
    label_name, limb_side, mirror_bank, progressive, swap_left_right, swap_left_right_tokens, tag_texts, third_person,
)
from motiongpt.data.layout import parse_caption_line

SET1_CONTENTS = ("walk run dash walk-back walk-left walk-right bow bye guide byebye respond call punch kick slash "
                 "dance-long dance-short").split()
SET2_CONTENTS = ("walk walk-turn-left walk-turn-right run wave-both-hands wave-left-hand wave-right-hand "
                 "raise-up-both-hands raise-up-left-hand raise-up-right-hand").split()
SET1_STYLES = ("normal happy sad angry proud not-confident masculinity feminine childish old tired active musical "
               "giant chimpira").split()
SET2_STYLES = "active elderly exhausted feminine masculine normal youthful".split()
ALL_CONTENTS = sorted(set(SET1_CONTENTS + SET2_CONTENTS))
SIDE_WORDS = re.compile(r"\b(left|right|leftward|rightward|clockwise|counterclockwise)\b")
MIRRORED = {"walk-right": "walk-left", "walk-turn-right": "walk-turn-left", "wave-right-hand": "wave-left-hand",
            "raise-up-right-hand": "raise-up-left-hand"}


def style_texts() -> list[str]:
    """Every phrase of every style bank."""
    return [t for bank in STYLES.values() for t in (*(s for s, _ in bank.subjects), *bank.pre, *bank.post,
                                                     *bank.clauses, *bank.adjectives, *bank.gait)]


def test_every_bandai_label_has_a_bank() -> None:
    assert set(SET1_CONTENTS + SET2_CONTENTS) <= set(CONTENTS)
    assert set(SET1_STYLES + SET2_STYLES) <= set(STYLES)


@pytest.mark.parametrize("content", ALL_CONTENTS)
def test_many_phrasings_per_label(content: str) -> None:
    bank = CONTENTS[content]
    assert len(set(bank.actions)) == len(bank.actions) >= 12
    assert len(bank.nouns) >= 3
    verbs = {p.split()[0] for p in bank.actions}
    assert len(verbs) >= 5  # different verbs, not one verb with different adverbs


@pytest.mark.parametrize("content", ALL_CONTENTS)
def test_eight_to_twelve_distinct_captions_deterministic(content: str) -> None:
    for style in ("normal", "elderly", "chimpira"):
        caps = compose_captions(content, style, "000042")
        assert len(set(caps)) == len(caps) and CAPTIONS_PER_MOTION[0] <= len(caps) <= CAPTIONS_PER_MOTION[1]
        assert caps == compose_captions(content, style, "000042")
        for c in caps:
            assert "{" not in c and "^" not in c and c[0].islower() and c.endswith(".") and "  " not in c, c
            assert " ," not in c and ",," not in c and not re.search(r"\b(\w+) \1\b", c), c


def test_frames_vary_subject_tense_and_form() -> None:
    caps = [c for i in range(60) for c in compose_captions("run", "normal", f"{i:06d}")]
    subjects = {s for s, _ in PLAIN_SUBJECTS if any(c.startswith(s + " ") for c in caps)}
    assert {"he", "she", "a woman", "a guy", "somebody"} <= subjects and len(subjects) >= 12
    assert any(" is jogging" in c or " is running" in c for c in caps)  # present progressive
    assert any(c.startswith(("a jog", "a quick jog", "a light jog", "a short run")) for c in caps)  # noun phrases
    assert any(c.startswith(("calmly,", "casually,", "steadily,")) for c in caps)  # leading manner
    assert len(set(caps)) > 0.8 * len(caps)


def test_captions_vary_between_motions_and_mostly_express_style() -> None:
    seen = [c for i in range(20) for c in compose_captions("walk", "tired", f"{i:06d}")]
    assert len(set(seen)) > 150
    manner = ("tired", "exhausted", "weary", "wearily", "sluggish", "listless", "worn", "slowly", "drag", "fatigue",
              "energy", "barely", "slumped")
    styled = sum(any(w in c for w in manner) for c in seen)
    assert 0.8 * len(seen) <= styled < len(seen)  # a few captions omit the manner, as people do


def test_conjugation() -> None:
    assert [third_person(v) for v in ("walk", "reach", "box", "reply", "go", "say", "do")] == \
        ["walks", "reaches", "boxes", "replies", "goes", "says", "does"]
    assert [progressive(v) for v in ("run", "wave", "see", "lie", "jog", "bow", "walk")] == \
        ["running", "waving", "seeing", "lying", "jogging", "bowing", "walking"]
    assert conjugate("walk, then ^turn left", "present") == "walks, then turns left"
    assert conjugate("raise {poss} left hand and ^wave", "progressive") == "raising {poss} left hand and waving"
    assert conjugate("raise a hand to wave goodbye", "present") == "raises a hand to wave goodbye"  # infinitive kept


def test_side_words_match_the_label() -> None:
    for key in map(str, range(10)):
        assert all("left" in c and "right" not in c for c in compose_captions("dataset-2_wave-left-hand", "normal", key))
        assert all("right" in c and "left" not in c for c in compose_captions("walk-turn-right", "youthful", key))
        assert not any(SIDE_WORDS.search(c) for c in compose_captions("kick", "angry", key))  # side unknown


def test_sided_phrases_only_with_a_known_side() -> None:
    caps = [c for k in range(10) for c in compose_captions("kick", "normal", str(k), side="right")]
    assert any("right leg" in c or "right foot" in c for c in caps)
    assert not any("left" in c for c in caps)
    with pytest.raises(ValueError, match="side"):
        compose_captions("kick", "normal", "1", side="up")


def test_limb_side_from_joints() -> None:
    joints = np.zeros((40, 22, 3), np.float32)
    joints[:, 11, 1] = np.sin(np.linspace(0, np.pi, 40))  # right foot rises ~1 m
    joints[:, 10, 1] = 0.05 * np.sin(np.linspace(0, np.pi, 40))
    assert limb_side("dataset-1_kick", joints) == "right"
    assert limb_side("kick", joints[:, [*range(10), 11, 10, *range(12, 22)]]) == "left"
    assert limb_side("kick", np.zeros((40, 22, 3), np.float32)) is None  # no clear side
    assert limb_side("walk", joints) is None


@pytest.mark.parametrize("content", ALL_CONTENTS)
def test_swap_round_trip_for_every_phrase(content: str) -> None:
    bank = CONTENTS[content]
    for text in bank_texts(bank):
        assert swap_left_right(swap_left_right(text)) == text
        words = re.findall(r"[A-Za-z]+", text.replace("-", ""))  # as the tokenizer sees them
        swapped = re.findall(r"[A-Za-z]+", swap_left_right(text).replace("-", ""))
        assert swapped == [swap_left_right(w) for w in words], text  # no 'left' hidden inside a compound
    sided = bool(SIDE_WORDS.search(" ".join(bank_texts(bank))))
    assert sided == ("left" in content or "right" in content), content


def test_right_banks_are_mirrored_left_banks() -> None:
    for right, left in MIRRORED.items():
        assert CONTENTS[right] == mirror_bank(CONTENTS[left])
        assert mirror_bank(CONTENTS[right]) == CONTENTS[left]
    assert not any(SIDE_WORDS.search(t) for t in style_texts())


def test_mirrored_captions_swap_sides() -> None:
    for key in map(str, range(5)):
        left = compose_captions("raise-up-left-hand", "happy", key)
        assert [swap_left_right(swap_left_right(c)) for c in left] == left
        assert all("right" in swap_left_right(c) and "left" not in swap_left_right(c) for c in left)


def test_unknown_label_errors() -> None:
    with pytest.raises(KeyError, match="content 'fly'"):
        compose_captions("fly", "normal", "1")
    assert label_name("dataset-1_not-confident") == "not-confident"


def test_swap_left_right() -> None:
    assert swap_left_right("Left hand, then turns right and walks leftward clockwise.") == \
        "Right hand, then turns left and walks rightward counterclockwise."
    assert swap_left_right(swap_left_right("waves their left hand")) == "waves their left hand"
    assert swap_left_right("a bright light, upright") == "a bright light, upright"  # whole words only
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
        assert cap.text == text and cap.whole and len(cap.tokens) >= 2


def test_no_phrase_dominates() -> None:
    caps = [c for i in range(40) for c in compose_captions("bow", "sad", f"{i:06d}")]
    assert Counter(caps).most_common(1)[0][1] <= 6
