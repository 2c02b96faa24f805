"""The hand-written dev sets: size and coverage, distance from the caption templates, loader errors.

The template side is modelled twice: exact `compose_captions` outputs over every content x style x many keys
(plus their left/right mirror), and a regex per sentence frame whose slots accept any phrase of any bank
(a superset of what the generator can write, so "no dev caption matches" is the strict direction). The
sampled outputs must all match the regexes, which keeps the regex model honest when the generator changes.

Run: .venv/bin/python -m pytest tests/eval/test_devsets.py -q
"""
from __future__ import annotations

import functools
import json
import re
import string
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest

from motiongpt.data import captions as cap
from motiongpt.eval.devsets import (CHAT_KINDS, LABELS, ActionCaption, ChatMessage, load_action_captions,
                                    load_chat_set)

KEYS_PER_PAIR = 6
TASK_WORD_STEMS = ("generat", "describ", "caption", "predict", "motion")
POSSESSIVES = tuple(cap.REFLEXIVE)


def normalise(text: str) -> str:
    """Lower case, single spaces, no surrounding blanks, no trailing full stop."""
    return re.sub(r"\s+", " ", text.lower()).strip().rstrip(".").strip()


def words(text: str) -> list[str]:
    """Lower-cased alphabetic tokens."""
    return re.findall(r"[a-z]+", text.lower())


@functools.lru_cache(maxsize=1)
def sampled_templates() -> frozenset[str]:
    """Normalised compose_captions outputs for every content x style x KEYS_PER_PAIR keys, and their mirrors."""
    out: set[str] = set()
    for content in cap.CONTENTS:
        sides = (None, "left", "right") if cap.CONTENTS[content].sided else (None,)
        for style in cap.STYLES:
            for key in range(KEYS_PER_PAIR):
                for side in sides:
                    out.update(cap.compose_captions(content, style, f"{key:06d}", side=side))
    return frozenset(normalise(t) for t in out | {cap.swap_left_right(t) for t in out})


def _filled(phrases: list[str], sides: tuple[str, ...] = ("",)) -> set[str]:
    """Phrases with {poss}/{refl}/{side} filled in every way."""
    return {p.format(poss=poss, refl=cap.REFLEXIVE[poss], side=side)
            for p in phrases for poss in POSSESSIVES for side in sides}


def _bank_union(name: str, banks: list) -> list[str]:
    """All phrases of field `name` over `banks`."""
    return [p for bank in banks for p in getattr(bank, name)]


@functools.lru_cache(maxsize=1)
def slot_options() -> dict[str, set[str]]:
    """Every phrase any bank can put in each frame slot (lower case)."""
    contents, styles = list(cap.CONTENTS.values()), list(cap.STYLES.values())
    subjects = list(cap.PLAIN_SUBJECTS) + [s for style in styles for s in style.subjects]
    actions = _filled(_bank_union("actions", contents)) | _filled(_bank_union("sided", contents), ("left", "right"))
    posts = _filled(_bank_union("post", styles))
    options = {
        "S": {s[0] for s in subjects}, "P": set(_bank_union("pre", styles)),
        "A": {cap.conjugate(a, "present") for a in actions}, "I": {cap.conjugate(a, "progressive") for a in actions},
        "M": posts | {p.split(",")[0] for p in posts}, "C": _filled(_bank_union("clauses", styles)),
        "D": _filled(_bank_union("details", contents)), "G": _filled(_bank_union("gait", styles)),
        "N": set(_bank_union("nouns", contents)), "ADJ": set(_bank_union("adjectives", styles)),
    }
    return {slot: {o.lower() for o in opts} for slot, opts in options.items()}


def _alternation(options: set[str]) -> str:
    """A non-capturing regex group matching any of `options` (longest first); matches nothing when empty."""
    return "(?:" + ("|".join(sorted(map(re.escape, options), key=len, reverse=True)) or "(?!)") + ")"


def _slot_pattern(slot: str) -> str:
    """Regex for one slot; N (noun phrase) takes an article and an optional style adjective."""
    opts = slot_options()
    if slot == "N":
        return rf"(?:an? (?:{_alternation(opts['ADJ'])} )?{_alternation(opts['N'])})"
    return _alternation(opts[slot])


@functools.lru_cache(maxsize=1)
def frame_patterns() -> tuple[re.Pattern[str], ...]:
    """One full-match regex per sentence frame (normalised: lower case, no trailing full stop)."""
    out = []
    for frame in cap.FRAMES:
        template = frame.template.strip().removesuffix(".")
        parts = [re.escape(literal.lower()) + (_slot_pattern(field) if field else "")
                 for literal, field, _, _ in string.Formatter().parse(template)]
        out.append(re.compile("".join(parts)))
    return tuple(out)


def template_like(text: str) -> bool:
    """True when the normalised text (or its mirror) fits a sentence frame filled from the banks."""
    candidates = {normalise(text), normalise(cap.swap_left_right(text))}
    return any(p.fullmatch(c) for p in frame_patterns() for c in candidates)


@functools.lru_cache(maxsize=1)
def template_vocabulary() -> frozenset[str]:
    """Every word of the caption banks, subjects and frames, with -s/-ing forms, plus sampled template words."""
    phrases: list[str] = [s[0] for s in cap.PLAIN_SUBJECTS] + list(cap.REFLEXIVE) + list(cap.REFLEXIVE.values())
    for bank in [*cap.CONTENTS.values(), *cap.STYLES.values()]:
        for f in fields(bank):
            values = getattr(bank, f.name)
            if isinstance(values, tuple):
                phrases += [v[0] if isinstance(v, tuple) else v for v in values]
    phrases += [frame.template for frame in cap.FRAMES]
    vocab = {w for p in phrases for w in words(re.sub(r"\{\w*\}", " ", p))} | {"left", "right"}
    vocab |= {form(w) for w in vocab for form in (cap.third_person, cap.progressive)}
    return frozenset(vocab | {w for t in sampled_templates() for w in words(t)})


@pytest.fixture(scope="module")
def actions() -> list[ActionCaption]:
    return load_action_captions()


@pytest.fixture(scope="module")
def chat() -> list[ChatMessage]:
    return load_chat_set()


def test_action_set_size_and_coverage(actions):
    counts = Counter(a.label for a in actions)
    assert len(actions) >= 400
    assert set(counts) == set(LABELS) == set(cap.CONTENTS)
    assert min(counts.values()) >= 10, counts.most_common()[-3:]
    dupes = [t for t, n in Counter(normalise(a.text) for a in actions).items() if n > 1]
    assert not dupes


def test_sided_labels_name_their_side_only(actions):
    for a in actions:
        side = next((s for s in ("left", "right") if s in a.label.split("-")), None)
        if side:
            said = set(words(a.text)) & {"left", "right", "leftward", "rightward", "leftwards", "rightwards"}
            assert said and all(w.startswith(side) for w in said), (a.text, a.label)


def test_sampled_templates_fit_the_frame_model():
    misses = sorted(t for t in sampled_templates() if not template_like(t))
    assert not misses, f"{len(misses)} generator outputs escape the frame regexes (update this test), e.g. {misses[:3]}"


def test_no_dev_caption_is_a_template_caption(actions):
    sampled = sampled_templates()
    equal = [a.text for a in actions if {normalise(a.text), normalise(cap.swap_left_right(a.text))} & sampled]
    fitting = [a.text for a in actions if template_like(a.text)]
    assert not equal, f"{len(equal)} dev captions are template outputs: {equal[:10]}"
    assert not fitting, f"{len(fitting)} dev captions fit a template frame: {fitting[:10]}"


def novel_share(actions: list[ActionCaption]) -> float:
    """Share of captions with at least one word the templates never use."""
    vocab = template_vocabulary()
    return sum(any(w not in vocab for w in words(a.text)) for a in actions) / len(actions)


def test_most_dev_captions_use_novel_words(actions):
    assert novel_share(actions) >= 0.6


def test_chat_set(chat):
    assert len(chat) >= 100
    assert {m.kind for m in chat} == set(CHAT_KINDS)
    generate = [m for m in chat if m.kind == "motion" and not m.needs_motion]
    describe = [m for m in chat if m.kind == "text"]
    cont = [m for m in chat if m.kind == "motion" and m.needs_motion]
    assert all(m.label is not None for m in generate)
    assert {m.label for m in generate} == set(LABELS)
    assert all(m.needs_motion and m.label is None for m in describe)
    assert all(m.label is None for m in cont)
    assert min(len(generate), len(describe), len(cont)) >= 0.1 * len(chat)
    assert len({normalise(m.text) for m in chat}) == len(chat)
    plain = [m for m in chat if not any(w.startswith(TASK_WORD_STEMS) for w in words(m.text))]
    assert len(plain) >= 0.5 * len(chat)


BROKEN = {
    "not json": ("[{", "not valid JSON"),
    "not a list": ('{"text": "walks"}', "expected a JSON list"),
    "not an object": ('["a person walks"]', "entry 0: expected a JSON object"),
    "missing": ('[{"text": "ok", "label": "walk"}, {"text": "a kick"}]', "entry 1: field 'label': missing"),
    "type": ('[{"text": 3, "label": "walk"}]', "entry 0: field 'text': expected str"),
    "empty": ('[{"text": "  ", "label": "walk"}]', "entry 0: field 'text': empty"),
    "label": ('[{"text": "hop", "label": "hop"}]', "entry 0: field 'label': unknown value 'hop'"),
    "extra": ('[{"text": "run", "label": "run", "style": "happy"}]', "entry 0: field 'style': unexpected"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_action_loader_errors_name_file_entry_and_field(tmp_path: Path, case: str):
    content, expected = BROKEN[case]
    path = tmp_path / "broken_actions.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_action_captions(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)) and expected in message


@pytest.mark.parametrize("entry, expected", [
    ({"text": "what is this", "kind": "caption", "label": None, "needs_motion": True}, "field 'kind': unknown value"),
    ({"text": "show a hop", "kind": "motion", "label": "hop", "needs_motion": False}, "field 'label': unknown value"),
    ({"text": "go on", "kind": "motion", "label": None, "needs_motion": "yes"}, "field 'needs_motion': expected bool"),
    ({"text": "bow please", "kind": "motion", "label": "bow"}, "field 'needs_motion': missing"),
])
def test_chat_loader_errors(tmp_path: Path, entry: dict, expected: str):
    path = tmp_path / "broken_chat.json"
    path.write_text(json.dumps([entry]), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}: entry 0: {expected}")):
        load_chat_set(path)


def test_loaders_read_explicit_paths(tmp_path: Path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([{"text": "wave at me", "kind": "motion", "label": "bye", "needs_motion": False}]))
    assert load_chat_set(path) == [ChatMessage("wave at me", "motion", "bye", False)]
