"""Broken descriptions: a real description turned into what a degenerate generator writes.

Two corruptions, each deterministic for a (text, seed), each built to fail one of the
project's own filters (:mod:`augment.filters`):

``loop``
    The description stops part-way and its last clause repeats until the text is as long
    as the original, as a small LM caught in a loop writes it ("and the boy is on the
    stool and the boy is on the stool ..."). Fails ``garbage`` (repeated n-grams).
``offtopic``
    The description drifts off the picture: sentences about the speaker's life, with no
    Cookie Theft information unit, as long as the original. Fails ``on_topic``. The
    sentences are written here for the purpose (never taken from a transcript); the
    speaker's own filler rate is kept, so the drift is the only thing that differs.

Both keep the original's length (a loop may run a little past it, until it fails), so a
pair of the original and its corruption says little about length: it is about looping or
leaving the picture. A loop also loses what the original said after the cut, as a looping
generator does, so it names fewer information units too.

>>> loop("the boy is on the stool and the girl is laughing at him. the mother is drying a plate.", seed=0).kind
'loop'
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from augment.filters import FilterConfig, garbage_verdict
from detect.chat import FILLERS

# Off-picture talk, written for this module. No word here may name an information unit of
# detect.info_units (no people of the scene, kitchen things, water, garden, window ...), and
# no he/she/it or negation, which some action rules read as pointing at the picture.
OFFTOPIC_SENTENCES: tuple[str, ...] = (
    "I used to live in a big house in the country.",
    "We went to the seaside every summer when I was young.",
    "The weather has been cold and grey all week.",
    "I like to watch football on the television on Sundays.",
    "There was a dance hall in our town where we met.",
    "The bus was late again this morning.",
    "My neighbour has a little dog that barks all night.",
    "We had a farm with cows and a few horses.",
    "I read the newspaper every morning after breakfast.",
    "Prices have gone up so much these days.",
    "My husband was a carpenter and built our first house.",
    "I sang in the church choir for many years.",
    "The hospital car park is always full.",
    "We used to take the train to the city at Christmas.",
    "I worked in a shoe factory for a long time.",
    "Our old car broke down on the motorway once.",
    "The grandchildren visit us at Easter.",
    "I think about the war years quite a lot.",
    "My cousin moved to Canada and writes every month.",
    "We kept chickens and grew potatoes for a while.",
    "The doctor says my blood pressure is fine now.",
    "I used to knit jumpers for the whole family.",
    "There is a new supermarket at the end of our road.",
    "Years ago I went dancing every Saturday night.",
)
_OPENINGS = ("well this reminds me of home.", "oh that takes me back.", "I remember something like this.")


@dataclass(frozen=True)
class Corrupted:
    """The corrupted text and which corruption made it."""

    text: str
    kind: str  # "loop" or "offtopic"


def loop(text: str, *, seed: int | random.Random = 0, config: FilterConfig | None = None) -> Corrupted:
    """Cuts ``text`` at 35-55% of its words and repeats its last 4-7 words until it fails ``garbage``.

    The cut is as late as the loop filter allows with the original's length kept: a
    later one needs a longer text to fail, an earlier one drops more of the picture.
    """
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    config = config or FilterConfig()
    tokens = text.split()
    if len(tokens) < 12:
        raise ValueError(f"a loop needs a description of at least 12 words, got {len(tokens)}")
    prefix = tokens[: max(6, int(len(tokens) * rng.uniform(0.35, 0.55)))]
    clause = prefix[-rng.randint(4, 7) :]
    out = list(prefix)
    while len(out) < len(tokens) or garbage_verdict(" ".join(out), config).passed:
        out.extend(clause)
    return Corrupted(" ".join(out), "loop")


def offtopic(text: str, *, seed: int | random.Random = 0) -> Corrupted:
    """As many words as ``text`` of talk off the picture, with ``text``'s share of fillers."""
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    tokens = text.split()
    if not tokens:
        raise ValueError("an off-topic version needs a description with words, got an empty one")
    filler_rate = sum(1 for t in tokens if t.strip(",.?!").lower() in FILLERS) / len(tokens)
    sentences = list(OFFTOPIC_SENTENCES)
    rng.shuffle(sentences)
    chosen = [rng.choice(_OPENINGS)]
    while sum(len(s.split()) for s in chosen) < len(tokens):
        chosen.append(sentences[len(chosen) % len(sentences)])
    words = []
    for word in " ".join(chosen).split():
        if rng.random() < filler_rate:
            words.append(rng.choice(("uh", "um")))
        words.append(word)
    return Corrupted(" ".join(words), "offtopic")


CORRUPTIONS = {"loop": loop, "offtopic": offtopic}
