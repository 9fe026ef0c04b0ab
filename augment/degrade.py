"""Controlled degradation: turn a healthy description into AD-like verbatim text.

The edits follow what distinguishes AD picture descriptions in the literature and in
:mod:`detect.markers`: fewer information units, vague reference ("the thing", "it") in
place of content nouns, more fillers, pauses, repetitions and revisions, and utterances left
unfinished. One ``intensity`` in [0, 1] scales every edit's probability, so a sweep gives
pairs of graded difficulty; 0 returns the text unchanged.

Input and output are verbatim text (fillers as uh/um, ``(.)`` a pause, ``—`` a correction,
'...' for trailing off: :mod:`detect.verbatim`), the form the generators learn;
:func:`detect.chat.clean_verbatim` reads the edits back as counts.

>>> degrade("The boy is taking a cookie from the jar.", DegradeConfig(intensity=0.0), seed=0).text
'The boy is taking a cookie from the jar.'
"""

from __future__ import annotations

import random
import re
from collections import Counter

from pydantic import Field
from pydantic.dataclasses import dataclass

from detect.chat import FILLERS
from detect.info_units import ENTITIES
from detect.verbatim import DASH, PAUSE_MARK, RETRACE_MARK, hold_pauses, release_pauses

# Information-unit nouns from the shared lexicon, plural forms too; multi-word synonyms are
# left out (they are rare in speech and need a phrase matcher).
_IU_NOUNS: dict[str, str] = {}
for _unit, _words in ENTITIES.items():
    for _w in _words:
        if " " not in _w:
            _IU_NOUNS[_w] = _unit
            _IU_NOUNS[_w + "s"] = _unit
            _IU_NOUNS[_w + "es"] = _unit
_IU_NOUNS["cookies"] = "cookie"
for _adverb in ("outside", "outdoors"):  # place words, but not nouns a pronoun can stand for
    _IU_NOUNS.pop(_adverb, None)
_PERSON_PRONOUN = {"boy": "he", "girl": "she", "woman": "she"}
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "his", "her", "their", "some", "those", "these"})
_VAGUE = ("the thing", "that thing", "it", "something", "this thing", "that")
_FILLERS = ("uh", "um")
_SENTENCE = re.compile(r"[^.?!…]+(?:\.\.\.|…|[.?!])?")


@dataclass(frozen=True)
class DegradeConfig:
    """How hard to degrade. Each rate is the chance of its edit at ``intensity=1``; all lie in [0, 1]."""

    intensity: float = Field(default=0.5, ge=0.0, le=1.0, description="Scales every edit, 0 (none) to 1 (most).")
    drop_info_unit: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Drop a sentence that names an information unit."
    )
    vague_noun: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Replace an information-unit noun with a pronoun or 'thing'."
    )
    # At the pairs' intensity (0.6) each edit moves its marker about twice the AD-HC gap of real
    # speech (and of the simulated cohort, calibrated to it): IU coverage, pronouns, retracings,
    # pauses, trailing-offs, fillers alike. Fillers at 0.12 and trailing-offs at 0.35 moved theirs
    # eight to sixteen times the gap, and DPO taught AD a filler caricature (B34).
    filler: float = Field(
        default=0.02, ge=0.0, le=1.0, description="Insert uh/um before a word (x3 at a sentence start)."
    )
    pause: float = Field(default=0.03, ge=0.0, le=1.0, description="Pause '(.)' before a word.")
    repetition: float = Field(default=0.08, ge=0.0, le=1.0, description="Repeat a word or two as said ('the the').")
    revision: float = Field(
        default=0.04, ge=0.0, le=1.0, description="Name a wrong unit, then correct it ('the girl — the boy')."
    )
    trail_off: float = Field(default=0.06, ge=0.0, le=1.0, description="Cut a sentence short and end it with '...'.")

    def p(self, name: str) -> float:
        return min(1.0, getattr(self, name) * self.intensity)


@dataclass(frozen=True)
class Degraded:
    """The degraded text and how many of each edit were made."""

    text: str
    edits: dict[str, int]


def _bare(word: str) -> str:
    return re.sub(r"[^\w'-]", "", word).lower()


def _split(text: str) -> list[tuple[list[str], str]]:
    """Sentences as (words, ending), ending one of '.', '?', '!', '...' ('' when missing)."""
    out = []
    for match in _SENTENCE.finditer(hold_pauses(text)):  # '(.)' ends no sentence
        sentence = match.group().strip()
        if not re.search(r"\w", sentence):
            continue
        ending = ""
        for end in ("...", "…", ".", "?", "!"):
            if sentence.endswith(end):
                ending = "..." if end == "…" else end
                sentence = sentence[: -len(end)]
                break
        words = release_pauses(sentence).split()
        if words:
            out.append((words, ending))
    return out


def _join(sentences: list[tuple[list[str], str]]) -> str:
    parts = []
    for words, ending in sentences:
        if not words:
            continue
        text = " ".join(words)
        parts.append(text + (ending or "."))
    return " ".join(parts)


def degrade(text: str, config: DegradeConfig | None = None, *, seed: int | random.Random = 0) -> Degraded:
    """Degrades one verbatim description; the same text, config and seed give the same result."""
    config = config or DegradeConfig()
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    edits: Counter[str] = Counter()
    sentences = _split(text)
    if config.intensity == 0.0 or not sentences:
        return Degraded(text=text, edits={})

    # 1. Fewer information units: drop sentences that name one, but never all sentences.
    kept = []
    for words, ending in sentences:
        names_unit = any(_bare(w) in _IU_NOUNS for w in words)
        if names_unit and rng.random() < config.p("drop_info_unit"):
            edits["drop_info_unit"] += 1
            continue
        kept.append((words, ending))
    if not kept:
        kept = [sentences[0]]
        edits["drop_info_unit"] -= 1

    out = []
    for words, ending in kept:
        # Cut first, so every later edit survives into the text and the counts stay honest.
        if len(words) >= 4 and rng.random() < config.p("trail_off"):
            cut = max(2, int(len(words) * rng.uniform(0.4, 0.8)))
            words = [w.rstrip(",;:") for w in words[:cut]]
            ending = "..."
            edits["trail_off"] += 1
        words = _vague(words, config, rng, edits)
        words = _disfluent(words, config, rng, edits)
        out.append((words, ending))
    return Degraded(text=_join(out), edits={k: v for k, v in edits.items() if v > 0})


def smooth(text: str) -> str:
    """The disfluencies taken out: fillers, pauses and correction marks dropped, immediate
    repetitions said once, trailing-offs ended.

    What the speaker said, as a fluent speaker would say it; everything else (the words
    chosen, what is named and what is not) stays. :func:`detect.chat.clean_verbatim` counts
    what this removes.

    >>> smooth("um the boy is is on the the (.) stool. he's taking the... so the so the — jar.")
    "the boy is on the stool. he's taking the. so the jar."
    """
    out = []
    for words, ending in _split(text):
        kept: list[str] = []
        capital = words[0][:1].isupper()  # kept when the word that had it ('Uh') goes
        for word in words:
            if _bare(word) in FILLERS or word == PAUSE_MARK or DASH.fullmatch(word):
                continue
            kept.append(word[:1].upper() + word[1:] if capital and not kept else word)
        out.append((_said_once(kept), "." if ending == "..." else ending))
    return _join(out)


def _said_once(words: list[str], longest: int = 3) -> list[str]:
    """Immediate repetitions of 1..``longest`` words collapsed ('so the so the jar' -> 'so the jar')."""
    out: list[str] = []
    for word in words:
        out.append(word)
        for n in range(longest, 0, -1):
            if len(out) >= 2 * n and [_bare(w) for w in out[-2 * n : -n]] == [_bare(w) for w in out[-n:]]:
                del out[-n:]
                break
    return out


def _vague(words: list[str], config: DegradeConfig, rng: random.Random, edits: Counter) -> list[str]:
    """Information-unit nouns (with their determiner) become pronouns or 'thing'."""
    out: list[str] = []
    for i, word in enumerate(words):
        unit = _IU_NOUNS.get(_bare(word))
        head_follows = i + 1 < len(words) and _bare(words[i + 1]) in _IU_NOUNS  # "cookie" in "cookie jar"
        if unit is None or head_follows or rng.random() >= config.p("vague_noun"):
            out.append(word)
            continue
        trailing = word[len(word.rstrip(",;:")) :]
        while out and _bare(out[-1]) in _IU_NOUNS:  # the whole compound goes, not just its head
            out.pop()
        if out and _bare(out[-1]) in _DETERMINERS:
            out.pop()
        replacement = _PERSON_PRONOUN.get(unit) or rng.choice(_VAGUE)
        if not out:
            replacement = replacement[0].upper() + replacement[1:]
        out.append(replacement + trailing)
        edits["vague_noun"] += 1
    return out


def _disfluent(words: list[str], config: DegradeConfig, rng: random.Random, edits: Counter) -> list[str]:
    """Fillers, pauses, repetitions ('the the') and revisions ('the girl — the boy'), as they are said."""
    units = list(ENTITIES)
    out: list[str] = []
    for i, word in enumerate(words):
        p_filler = config.p("filler") * (3 if i == 0 else 1)
        if rng.random() < min(1.0, p_filler):
            filler = rng.choice(_FILLERS)
            if not out and word[:1].isupper():  # the filler now starts the sentence
                filler = filler.capitalize()
                word = word if word == "I" or word.startswith("I'") else word[:1].lower() + word[1:]
            out.append(filler)
            edits["filler"] += 1
        if out and rng.random() < config.p("pause"):
            out.append(PAUSE_MARK)
            edits["pause"] += 1
        unit = _IU_NOUNS.get(_bare(word))
        if unit is not None and i > 0 and _bare(words[i - 1]) in _DETERMINERS and rng.random() < config.p("revision"):
            wrong = rng.choice([u for u in units if u != unit and u in ENTITIES])
            out += [ENTITIES[wrong][0], RETRACE_MARK, words[i - 1].lower()]
            edits["revision"] += 1
        out.append(word)
        if rng.random() < config.p("repetition"):
            span = words[max(0, i - rng.choice((0, 1))) : i + 1]
            out.extend(w.rstrip(",;:") for w in span)
            edits["repetition"] += 1
    return out
