"""How an utterance is said: clean words -> a CHAT main tier with the speaker's hesitations.

:func:`render_utterance` adds, at the speaker's per-word rates (:class:`~cohort.speakers.Rates`):
fillers (``&-uh``, older ``&uh``; each speaker has favourite ones), pauses (``(.)`` ...
``(2.5)``, only where the transcriber marked pauses), repetitions (``the [/] the``,
``<the boy> [/] the boy``), revisions (``<the girl> [//] the boy``), reformulations
(``<she's> [///] he's``), phonological fragments (``&+co cookie``, older ``&co``),
unintelligible speech (``xxx``), paraphasias with their targets (``cootie [: cookie] [* p:w]``),
events (``&=laughs``), shortenings (``fallin(g)``) and trailing off (``+...``, the utterance
left unfinished). :func:`place` decides how many of each and where.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cohort.grammar import Voice
from cohort.speakers import Rates, Speaker

FILLERS_NEW: tuple[str, ...] = ("&-uh", "&-um", "&-er", "&-uh", "&-um", "&-uh &-um", "&-you_know", "&-hm", "&-ah")
FILLERS_OLD: tuple[str, ...] = ("&uh", "&um", "&er", "&uh", "&um", "&uh &um", "&hm", "&ah")
PAUSES: tuple[str, ...] = ("(.)", "(.)", "(..)", "(...)", "(.)", "(2.5)", "(1.5)")
EVENT_CODES: tuple[str, ...] = ("&=laughs", "&=clears:throat", "&=sighs", "&=points", "&=coughs")
# Phonological paraphasias (said, target), and words said for another (semantic).
PARAPHASIAS: dict[str, str] = {
    "cookie": "cootie",
    "cookies": "tookies",
    "stool": "stoop",
    "sink": "sint",
    "water": "wawer",
    "dishes": "fishes",
    "jar": "jaw",
    "curtains": "curtings",
    "window": "winder",
    "plate": "plake",
    "faucet": "fawcet",
    "cupboard": "cubbard",
}
SEMANTIC: dict[str, str] = {
    "stool": "chair",
    "jar": "can",
    "sink": "tub",
    "cupboard": "closet",
    "plate": "bowl",
    "girl": "boy",
    "boy": "girl",
    "mother": "sister",
    "water": "milk",
    "curtains": "drapes",
}
WRONG_WORDS: tuple[str, ...] = (
    "girl",
    "boy",
    "mother",
    "thing",
    "one",
    "water",
    "sink",
    "cookie",
    "lady",
    "window",
    "stool",
    "dish",
)
_ARTICLES = ("the", "a", "this", "that", "his", "her")
_PRONOUNS = ("he", "she", "it", "they", "he's", "she's", "it's", "they're")
# -ing words that are no progressive forms: never written fallin(g)
_NOT_ING = frozenset({"thing", "something", "nothing", "anything", "everything", "morning", "ceiling", "king"})


@dataclass
class Marks:
    """Where one utterance's hesitations go: word positions (the code comes before the word)."""

    filler: set[int] = field(default_factory=set)
    pause: set[int] = field(default_factory=set)
    retrace: set[int] = field(default_factory=set)
    fragment: set[int] = field(default_factory=set)
    unintelligible: set[int] = field(default_factory=set)
    trail: bool = False  # the utterance trails off (+...)


def _count(rng: random.Random, expected: float) -> int:
    """``expected`` rounded up or down at random, so that the mean count is ``expected``."""
    return int(expected) + (rng.random() < expected - int(expected))


def place(rng: random.Random, utterances: list[list[str]], rates: Rates) -> list[Marks]:
    """How many of each hesitation the speaker makes (their rate times their words) and where.

    A count per description, placed at random, rather than a coin per word: a speaker's rates
    then come out as drawn, and the spread between speakers is the spread of their traits
    (:mod:`cohort.speakers`) instead of the noise of a few coins. Fillers and pauses come
    twice as often before an utterance's first word.
    """
    marks = [Marks() for _ in utterances]
    slots = [(u, j) for u, words in enumerate(utterances) for j in range(len(words))]
    weights = [2.0 if j == 0 else 1.0 for _, j in slots]
    candidates = [u for u, words in enumerate(utterances) if len(words) > 3]
    for u in rng.sample(candidates, min(len(candidates), _count(rng, rates.trail * len(slots)))):
        marks[u].trail = True
    for kind, rate, weighted in (
        ("filler", rates.filler, True),
        ("pause", rates.pause, True),
        ("retrace", rates.retrace, False),
        ("fragment", rates.fragment, False),
        ("unintelligible", rates.unintelligible, False),
    ):
        wanted = min(len(slots), _count(rng, rate * len(slots)))
        chosen: set[tuple[int, int]] = set()
        while len(chosen) < wanted:
            chosen.update(rng.choices(slots, weights=weights if weighted else None, k=wanted - len(chosen)))
        for u, j in sorted(chosen):
            getattr(marks[u], kind).add(j)
    return marks


def render_utterance(
    rng: random.Random, voice: Voice, words: list[str], sp: Speaker, marks: Marks
) -> tuple[str, list[str]]:
    """One *PAR main-tier line (no bullet) and the clean words actually said, with ``marks``'s hesitations."""
    r = sp.rates
    new = sp.notation == "new"
    if marks.trail:
        words = words[: rng.randint(2, len(words) - 1)]  # a trailing-off utterance stops unfinished
    out: list[str] = []
    spoken: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if i in marks.filler:
            out.append(voice.pick("filler", FILLERS_NEW if new else FILLERS_OLD, common=False))
        if i in marks.pause:
            out.append(voice.pick("pause", PAUSES, common=False))
        if rng.random() < r.event:
            out.append(rng.choice(EVENT_CODES))
        letters = w.split("'")[0]
        if i in marks.fragment and letters.isalpha():
            stem = letters[: rng.randint(1, min(3, len(letters)))]
            out.append(("&+" if new else "&") + stem.lower())
        if i in marks.unintelligible:
            out.append("xxx")
        if i in marks.retrace:
            kind = rng.random()
            if kind < 0.55 or i + 1 >= len(words):
                # a repeated word, once or (rarely) twice
                times = 1 if rng.random() < 0.88 else 2
                out.append(f"{w} [/] " * times + w)
                spoken.append(w)
                i += 1
                continue
            span = words[i : i + rng.randint(2, 3)]
            if kind < 0.8:
                out.append(f"<{' '.join(span)}> [/]")  # a phrase said again
            elif span[0] in _ARTICLES:
                out.append(f"<{span[0]} {rng.choice(WRONG_WORDS)}> [//]")  # the wrong word, corrected
            elif span[0] in _PRONOUNS:
                # a reformulation: another start to the same thing
                out.append(f"<{rng.choice(_PRONOUNS)}> [{rng.choice(('//', '///'))}]")
            else:
                # a phrase restarted: a revision, or a reformulation when it was a longer one
                out.append(f"<{' '.join(span)}> [{'///' if len(span) == 3 else '//'}]")
            out.extend(span)
            spoken.extend(span)
            i += len(span)
            continue
        key = w.lower()
        if key in PARAPHASIAS and rng.random() < r.paraphasia:
            if rng.random() < 0.6:
                out.append(f"{PARAPHASIAS[key]} [: {w}] [* p:w]")
            else:
                out.append(f"{SEMANTIC.get(key, 'thing')} [: {w}] [* s:r]")
            spoken.append(w)
            i += 1
            continue
        if sp.drops_g and w.endswith("ing") and w not in _NOT_ING and len(w) > 4 and rng.random() < 0.5:
            out.append(f"{w[:-1]}(g)")  # said "fallin", meant "falling"
        else:
            out.append(w)
        spoken.append(w)
        i += 1
    if marks.trail:
        out.append("+...")
    elif rng.random() < 0.03:
        out.append("+/.")
    else:
        out.append(rng.choices((".", "?", "!"), weights=(0.97, 0.015, 0.015))[0])
    return " ".join(out), spoken
