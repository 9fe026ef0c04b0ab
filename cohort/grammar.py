"""The phrase engine: templates with slots, filled in one speaker's own words.

A template is text with slots in braces, expanded from a grammar (symbol -> alternatives,
each alternative a template again):

- ``{sym}``: one alternative of ``sym``;
- ``{?sym}``: ``sym`` or nothing (a habit: some speakers always say "little", some never);
- ``{@ref}`` / ``{@ref.o}``: a referent (the boy, the cookies ...) as subject / object
  (``{@ref.n}``: a noun phrase, never a pronoun: "there's *a boy* ..."). Once
  named, a referent may come back as a pronoun ("he", "them"); a vague speaker may never
  name it at all ("that one", "the stuff"), which is what lowers information-unit coverage
  and raises the pronoun ratio, as in real AD speech.

Every choice goes through :class:`Voice`: a speaker has a favourite alternative at each choice
point (drawn the first time it comes up) and keeps to it with their own ``loyalty``. That is
the idiolect: one speaker says "the little boy ... the cookie jar ... I guess", another "the
son ... the crock ... apparently", so descriptions differ between speakers far more than
within one, as real ones do. Favourites are the common wording (each list's first) with the
speaker's ``convention`` and any other otherwise, so that what speakers share is mostly whole
common phrases (:meth:`Speech.say` with ``plain``: "the boy is taking cookies out of the cookie
jar") and the rest is rare: the shape of real speech's repeated and unique word pairs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

RARE_AMONG = 15  # alternatives beyond the first that a list needs for its others to be rare
_DETERMINERS = frozenset({"the", "a", "this", "that", "some", "his", "her", "their"})
_SLOT = re.compile(r"\{([?@]?)([\w.]+)\}")
_SPACES = re.compile(r"\s+")


class Voice:
    """One speaker's way of choosing: a favourite per choice point, kept with probability ``loyalty``.

    Alternatives are ranked, the common wording first. A choice is the common wording with
    probability ``convention``, else any other alternative: as with real word choices, most
    speakers say "the boy", and the others each their own ("the son", "the lad", "junior"),
    with few wordings in between.
    """

    def __init__(self, rng: random.Random, loyalty: float, convention: float = 0.5):
        self.rng = rng
        self.loyalty = loyalty
        self.convention = convention
        self.favourites: dict[str, int] = {}

    def _draw(self, n: int) -> int:
        # A short list has no room for rare wordings: its other alternatives would each be said by
        # a handful of speakers, which real word choices rarely are; the shorter, the more common the first.
        uncommon = (1 - self.convention) * min(1.0, (n - 1) / RARE_AMONG)
        if n == 1 or self.rng.random() >= uncommon:
            return 0
        return self.rng.randrange(1, n)

    def pick(self, key: str, options: Sequence[str], *, common: bool = True) -> str:
        """The speaker's choice at ``key``; ``common=False``: a habit (a favourite filler, opener,
        hedge), where no wording is the common one and each speaker has their own."""
        favourite = self.favourites.get(key)
        if favourite is None or favourite >= len(options):
            n = len(options)
            favourite = self.favourites[key] = self._draw(n) if common else self.rng.randrange(n)
        if self.rng.random() < self.loyalty:
            return options[favourite]
        return options[self._draw(len(options))]

    def any(self, options: Sequence[str]) -> str:
        """Any alternative, all equally likely: open talk, where no wording is the common one."""
        return options[self.rng.randrange(len(options))]

    def habit(self, key: str, low: float, high: float) -> float:
        """A per-speaker probability in [low, high], fixed the first time it is asked for."""
        favourite = self.favourites.get(key)
        if favourite is None:
            favourite = self.favourites[key] = self.rng.randrange(1000)
        return low + (high - low) * favourite / 999


@dataclass(frozen=True)
class Referent:
    """Something a description refers to: its noun phrases (a grammar symbol), pronouns, vague forms."""

    np: str  # grammar symbol of its noun phrases
    subject: str = ""  # pronoun once named ("" : never pronominalised)
    object: str = ""
    vague: tuple[str, ...] = ()  # what a vague speaker says instead of naming it
    adjective: str = ""  # grammar symbol of adjectives a speaker may add ("the *wobbly* stool")


@dataclass
class Speech:
    """Fills templates for one speaker: what was named so far, how often a pronoun or a vague form is used."""

    voice: Voice
    grammar: Mapping[str, Sequence[str]]
    referents: Mapping[str, Referent]
    pronoun_p: float  # a referent named before comes back as a pronoun
    vague_p: float  # a referent is not named but gestured at ("that thing")
    free: frozenset[str] = frozenset()  # symbols of open talk: any alternative, no favourite
    habits: frozenset[str] = frozenset()  # symbols of habits: a favourite, but no common wording
    adjective_p: float = 0.0  # a named referent gets an adjective
    named: set[str] = field(default_factory=set)
    _plain: bool = False  # filling the common wording: the first alternative everywhere

    def say(self, template: str, *, plain: bool = False) -> str:
        """The template in the speaker's words; ``plain``: in the common words (the first
        alternative of every symbol, no adjective), as most speakers put the main events."""
        outer, self._plain = self._plain, plain or self._plain
        try:
            text = _SLOT.sub(self._fill, template)
        finally:
            self._plain = outer
        return _SPACES.sub(" ", text).strip()

    def _fill(self, match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "@":
            return self._referent(name)
        if self._plain and kind != "?":
            choice = self.grammar[name][0]
            return self.say(choice) if "{" in choice else choice
        if kind == "?":
            # an optional part is a habit of the speaker's (the favourite: with or without it)
            if self.voice.pick(f"?{name}", ("", "with")) == "":
                return ""
        options = self.grammar[name]
        if len(options) == 1:
            choice = options[0]
        else:
            choice = (
                self.voice.any(options)
                if name in self.free
                else self.voice.pick(name, options, common=name not in self.habits)
            )
        return self.say(choice) if "{" in choice else choice

    def _referent(self, name: str) -> str:
        base, _, case = name.partition(".")
        ref = self.referents[base]
        rng = self.voice.rng
        if base in self.named and ref.subject and case != "n" and rng.random() < self.pronoun_p:
            return ref.object if case == "o" else ref.subject
        if ref.vague and rng.random() < self.vague_p:
            return self.voice.pick(f"vague.{base}", ref.vague)
        self.named.add(base)
        if self._plain:
            return self.say(self.grammar[ref.np][0])
        phrase = self.say(self.voice.pick(ref.np, self.grammar[ref.np]))
        determiner, _, rest = phrase.partition(" ")
        if ref.adjective and rest and determiner in _DETERMINERS and rng.random() < self.adjective_p:
            phrase = f"{determiner} {self.voice.any(self.grammar[ref.adjective])} {rest}"
        return phrase


# Contractions people make when they speak; each speaker contracts at their own rate.
_CONTRACTIONS: tuple[tuple[re.Pattern, str], ...] = (
    (
        re.compile(
            r"\b(he|she|it|that|there|what|boy|girl|mother|mom|water|sink|stool|lady|woman|kid|jar|faucet)"
            r" is\b"
        ),
        r"\1's",
    ),
    (re.compile(r"\b(they|we|you) are\b"), r"\1're"),
    (re.compile(r"\b(does|is|are|was|do) not\b"), r"\1n't"),
    (re.compile(r"\b(I) am\b"), r"\1'm"),
    (re.compile(r"\bgoing to\b"), "gonna"),
)


def contract(rng: random.Random, text: str, rate: float) -> str:
    """Contract 'he is' -> "he's", 'going to' -> 'gonna' ..., each occurrence with probability ``rate``."""
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(
            lambda m, replacement=replacement: m.expand(replacement) if rng.random() < rate else m.group(0), text
        )
    return text
