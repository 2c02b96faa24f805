"""Everyday requests: the way people ask a motion model for an action, composed from a content label at training time.

The stored captions (`captions.compose_captions`) describe a motion in the third person ("a man kicks forward").
People asking for a motion also write imperatives ("kick!"), requests ("make him kick a ball"), first person ("I
want to see someone kicking"), bare gerunds and nouns ("kicking", "a karate kick"), and make typos. The LM data
(`data.caption_rewrite` / `data.caption_typos` of an LM stage) replaces the input caption of a share of the
caption-to-motion draws with `request_caption(label, rng)` and puts a typo into a share of them (`add_typo`);
captions the model has to *write* (motion-to-text) are never rewritten. Phrases come from the label's caption bank
plus `EVERYDAY`, more colloquial base-form phrasings kept out of the caption banks so that the stored captions (and
every evaluation built on them) stay exactly as composed. Right-side labels use the left-side phrases mirrored::

    rng = random.Random(0)
    request_caption("walk-right", rng)        # e.g. "make him sidestep to the right"
    add_typo("a person waves goodbye", rng)   # e.g. "a person wvaes goodbye"
"""
from __future__ import annotations

import random
import re

from motiongpt.data.captions import (CONTENTS, PLAIN_SUBJECTS, REFLEXIVE, ContentBank, article, conjugate,
                                     plain_phrase, swap_left_right)

_WALK_LEFT = ("walk sideways to the left", "sidestep to the left", "step sideways to {poss} left",
              "shuffle sideways to the left", "take side steps leftward", "move left with side steps", "strafe left",
              "walk sideways leftward", "take side steps to the left", "slide over to the left on foot")
_TURN_LEFT = ("walk and ^hang a left", "walk in a curve to the left", "walk around a corner to the left",
              "bend to the left while walking", "walk in an arc to the left", "swing left while walking",
              "walk and ^change direction to the left", "walk a left-hand bend")
_WAVE_LEFT = ("wave hi with the left hand", "wave to a friend with {poss} left hand", "wave the left arm",
              "do a left-handed wave", "wave {poss} left hand in greeting", "say hello with a left-hand wave")
_RAISE_LEFT = ("put the left hand up", "raise {poss} left hand like asking a question", "lift the left hand up high",
               "shoot {poss} left hand up", "stick the left hand up", "hold the left arm up in the air")

EVERYDAY: dict[str, tuple[str, ...]] = {
    "walk": ("take a walk", "stroll along", "wander forward", "walk down the street", "walk at a normal pace",
             "amble forward", "walk along casually", "walk normally", "go for a stroll", "walk straight"),
    "run": ("jog along", "run along", "go jogging", "run at an easy pace", "jog down the road", "run forward steadily",
            "do some jogging", "trot along", "run straight", "run for a bit"),
    "dash": ("sprint as fast as {poss} can", "make a run for it", "dash off", "tear off at full speed",
             "sprint away", "race off", "break into a sprint", "run flat out", "zoom forward", "sprint hard"),
    "walk-back": ("back up slowly", "walk backwards a few steps", "reverse on foot", "step back",
                  "retreat a few paces", "move back without turning", "back off", "walk in reverse a bit"),
    "walk-left": _WALK_LEFT,
    "walk-right": tuple(map(swap_left_right, _WALK_LEFT)),
    "walk-turn-left": _TURN_LEFT,
    "walk-turn-right": tuple(map(swap_left_right, _TURN_LEFT)),
    "bow": ("bow to the audience", "bow from the waist", "take a deep bow", "bend forward politely",
            "bow like a butler", "do a little bow", "bow with respect"),
    "bye": ("wave bye to a friend", "say goodbye with a hand", "wave farewell to someone leaving",
            "wave someone goodbye", "give a farewell wave", "say see you later with a wave"),
    "byebye": ("wave bye-bye over and over", "keep waving goodbye to a friend", "wave goodbye for a long time",
               "wave goodbye many times", "keep on waving bye-bye", "wave goodbye again and again with a big smile"),
    "call": ("beckon someone to come closer", "wave someone over to come here", "call a friend over",
             "signal a person to come over", "motion someone over with a hand", "tell someone to come here with a gesture"),
    "guide": ("show a guest the way", "point out where to go", "direct someone with an open hand",
              "lead a visitor with a gesture", "indicate the way to someone", "show someone in with a sweep of the hand"),
    "respond": ("answer when called", "react to {poss} name being called", "respond to a call with a gesture",
                "reply to someone with a nod", "acknowledge someone calling"),
    "kick": ("kick a ball", "do a karate kick", "kick hard", "kick something in front", "do a front kick",
             "kick into the air", "kick like a soccer player", "do a martial arts kick"),
    "punch": ("throw a punch", "punch like a boxer", "jab with a fist", "punch the air", "hit with a fist",
              "box", "throw a jab", "throw a couple of punches"),
    "slash": ("swing a sword down", "slash with a katana", "cut with a blade", "strike with a sword",
              "slice the air with a sword", "swing an imaginary katana", "do a sword cut"),
    "dance-long": ("dance to the music for a while", "dance a whole routine", "keep on dancing",
                   "dance for a long time", "bust out a long dance"),
    "dance-short": ("do a quick dance", "dance a little", "bust a move", "do a short dance move",
                    "dance for a second", "do a happy little dance"),
    "wave-both-hands": ("wave both arms high", "wave both hands over {poss} head", "wave two hands at someone",
                        "wave both arms to get attention", "wave wildly with both hands", "wave with both arms up"),
    "wave-left-hand": _WAVE_LEFT,
    "wave-right-hand": tuple(map(swap_left_right, _WAVE_LEFT)),
    "raise-up-both-hands": ("put both hands up", "throw both arms in the air", "stick {poss} hands up", "raise both arms high",
                            "lift both hands over {poss} head", "reach up with both arms", "put {poss} hands in the air"),
    "raise-up-left-hand": _RAISE_LEFT,
    "raise-up-right-hand": tuple(map(swap_left_right, _RAISE_LEFT)),
}

# (template, weight): {B} base-form action for "you" (your/yourself), {O} an object ("him"), {S} a subject,
# {I} the subject's progressive action, {A} its simple present, {N} a noun phrase with article
REQUEST_FRAMES: tuple[tuple[str, float], ...] = (
    ("{B}", 3), ("{B}!", 1), ("please {B}", 1), ("{B}, please", 0.5), ("now {B}", 0.5),
    ("make {O} {B}", 1.5), ("have {O} {B}", 1), ("let {O} {B}", 0.5), ("can you make {O} {B}?", 1),
    ("show me {S} {I}", 1.5), ("i want to see {S} {I}", 1), ("i'd like {S} {I}", 0.5),
    ("generate {S} {I}", 1), ("animate {S} {I}", 1), ("a clip of {S} {I}", 1), ("{S} {A}", 1),
    ("{I}", 1.5), ("{N}", 1), ("{N}, please", 0.5), ("i {B}", 0.5), ("me {I}", 0.3), ("i am {I}", 0.3),
)
FIRST_PERSON = frozenset({"i {B}", "me {I}", "i am {I}"})
OBJECTS = ("him", "her", "them", "the character", "the person", "someone", "the man", "the woman", "the avatar")
_OBJECT_CASE = {"he": "him", "she": "her"}
_REFLEXIVE = {**REFLEXIVE, "your": "yourself", "my": "myself"}
_FRAME_WEIGHTS = [w for _, w in REQUEST_FRAMES]


def _phrases(content: str) -> tuple[str, ...]:
    """Base-form phrases of a content (each starting with its verb): its caption bank's actions plus `EVERYDAY`."""
    bank: ContentBank = CONTENTS[content]
    return bank.actions + EVERYDAY.get(content, ())


def _filled(phrase: str, poss: str) -> str:
    """A phrase with {poss}/{refl} filled for the possessive `poss` ("his", "your", "my", ...)."""
    return phrase.format(poss=poss, refl=_REFLEXIVE[poss])


def request_caption(content: str, rng: random.Random) -> str:
    """One everyday request for an action of label `content` (a key of `captions.CONTENTS`), drawn with `rng`."""
    if content not in CONTENTS:
        raise KeyError(f"no phrases for content {content!r}; known: {', '.join(sorted(CONTENTS))}")
    template = rng.choices(REQUEST_FRAMES, weights=_FRAME_WEIGHTS)[0][0]
    nouns = CONTENTS[content].nouns
    if "{N}" in template and not nouns:
        template = "{B}"
    phrase = rng.choice(_phrases(content))
    subject, poss = rng.choice(PLAIN_SUBJECTS)
    you = "my" if template in FIRST_PERSON else "your"
    if not template.startswith("{S}"):  # "show me him kicking", not "show me he kicking"
        subject = _OBJECT_CASE.get(subject, subject)
    return template.format(B=plain_phrase(_filled(phrase, you)), O=rng.choice(OBJECTS), S=subject,
                           I=conjugate(_filled(phrase, "my" if you == "my" else poss), "progressive"),
                           A=conjugate(_filled(phrase, poss), "present"),
                           N=article(rng.choice(nouns)) if nouns else "")


def add_typo(text: str, rng: random.Random) -> str:
    """`text` with one word of four or more letters misspelt: two letters swapped, one dropped or one doubled."""
    words = list(re.finditer(r"[A-Za-z]{4,}", text))
    if not words:
        return text
    m = rng.choice(words)
    w, i = m.group(), rng.randrange(1, len(m.group()) - 1)
    kind = rng.randrange(3)
    typo = (w[:i] + w[i + 1] + w[i] + w[i + 2:] if kind == 0 and w[i] != w[i + 1] else
            w[:i] + w[i + 1:] if kind <= 1 else w[:i] + w[i] + w[i:])
    return text[:m.start()] + typo + text[m.end():]
