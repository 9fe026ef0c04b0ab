"""An event of the picture, as :mod:`cohort.scene` lists them: its salience, where it is, and its wordings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One thing a speaker can say about the picture, in ``frames`` (templates)."""

    name: str
    salience: float  # logit that a typical healthy speaker mentions it
    area: str  # "left", "right", "back", "all": where it is, for the scan order
    frames: tuple[str, ...]
    bare: tuple[str, ...] = ()  # the event as a listing speaker names it: noun phrases, no verb
    tails: tuple[str, ...] = ()  # details a speaker may add to a clause about it, each speaker their own
    terse: tuple[str, ...] = ()  # the event in few words, as a speaker short of words says it ("boy taking cookies")
