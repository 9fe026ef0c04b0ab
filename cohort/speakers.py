"""Who speaks: invented speakers with the spread of real ones (severity, length, habits, hesitation).

Each class (AD, HC) has a :class:`Profile`: the distributions its speakers' latent traits
come from. A speaker's traits are

- ``severity`` in [0, 1]: how impaired; it lowers how many events are described and how
  specifically, and raises vagueness, pronouns, empty talk and disfluency;
- ``length``: the words the speaker means to say, log-normal (real lengths are heavy-tailed:
  words SD ~50 around a mean of ~90);
- habits: how long their utterances run (``join_p``), how often they hedge, drift off the
  picture, use a pronoun for someone already named, how loyal they are to their own words;
- disfluency propensities (:class:`Rates`), per word: fillers, retracings, pauses,
  trailing-offs ... with a shared hesitancy factor (an AD speaker who says uh a lot also
  restarts a lot), and per transcript whether the transcriber marked pauses at all (many Pitt
  transcripts have none).

The traits of a class's speakers are drawn *stratified*: for each trait the n speakers get
one value from each of n equal-probability slices of its distribution, in random order. A
78-speaker class then has the intended means and spread whatever the seed, instead of
wandering with it; which speaker gets which value is still random. Simulated people: no real
speaker's data went into them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
RATE_CAP = 10.0  # a disfluency propensity is at most this many times its class median


@dataclass(frozen=True)
class Profile:
    """The distributions of one class's traits (log-normal parameters as median and sigma)."""

    severity: tuple[float, float]  # mean, SD of a normal clipped to [0, 1]
    length: tuple[float, float]  # median words, log-SD
    join: tuple[float, float]  # mean, SD of the chance that a clause joins the utterance before
    drift: tuple[float, float]  # mean, SD of the share of extra talk that leaves the picture
    hedge: tuple[float, float]  # mean, SD of the chance that a clause gets a hedge
    pronoun: tuple[float, float]  # mean, SD of the chance that a named referent comes back as a pronoun
    listing: tuple[float, float]  # share of listers (who mostly name things: "the curtains"), and how much they do
    tail: tuple[float, float]  # mean, SD of the chance that a clause about an event carries a detail
    loyalty: tuple[float, float]  # mean, SD of the chance that a speaker's favourite wording wins over another
    plain: float  # chance that an event is said in its common sentence, in the common words
    convention: tuple[float, float]  # mean, SD of the chance that a word choice is the common wording
    variation: float  # how far running speech strays from the bank's wording (small words, determiners)
    filler: tuple[float, float]  # median per word, log-SD
    retrace: tuple[float, float]
    pause: tuple[float, float]
    marks_pauses: float  # share of transcripts whose transcriber marked pauses
    trail: tuple[float, float]
    trail_share: float  # share of speakers who ever trail off
    unintelligible: tuple[float, float]
    hesitancy: float  # loading of every disfluency rate on the shared hesitancy factor
    mmse: tuple[float, float, float, int, int]  # intercept, slope on severity, noise SD, min, max
    age: tuple[float, float, int, int]  # mean, SD, min, max


# Calibrated so that, through the project's reader, markers and diversity measures, the default
# seed's cohort is within the bounds of detect/data/reference/pitt-cookie.json (real Pitt):
# `cookiebench corpus stats` checks it, cohort/measured.md has the table.
PROFILES: dict[str, Profile] = {
    "AD": Profile(
        severity=(0.55, 0.2),
        length=(60.0, 0.56),
        join=(0.17, 0.15),
        drift=(0.30, 0.15),
        hedge=(0.10, 0.07),
        pronoun=(0.45, 0.27),
        listing=(0.135, 0.7),
        tail=(0.2, 0.12),
        loyalty=(0.4, 0.15),
        plain=0.41,
        convention=(0.2, 0.0),
        variation=1.8,
        filler=(0.0205, 1.25),
        retrace=(0.03, 0.88),
        pause=(0.025, 0.95),
        marks_pauses=0.65,
        trail=(0.0042, 1.08),
        trail_share=0.55,
        unintelligible=(0.003, 0.9),
        hesitancy=0.5,
        mmse=(29.0, 15.0, 2.2, 8, 28),
        age=(69.5, 6.8, 53, 80),
    ),
    "HC": Profile(
        severity=(0.22, 0.07),
        length=(70.0, 0.6),
        join=(0.23, 0.13),
        drift=(0.20, 0.12),
        hedge=(0.03, 0.03),
        pronoun=(0.38, 0.15),
        listing=(0.12, 0.6),
        tail=(0.3, 0.15),
        loyalty=(0.3, 0.15),
        plain=0.325,
        convention=(0.3, 0.0),
        variation=1.0,
        filler=(0.021, 0.68),
        retrace=(0.011, 0.95),
        pause=(0.0115, 0.85),
        marks_pauses=0.55,
        trail=(0.004, 1.05),
        trail_share=0.18,
        unintelligible=(0.0008, 0.9),
        hesitancy=0.2,
        mmse=(30.0, 3.0, 1.1, 25, 30),
        age=(66.0, 6.5, 50, 80),
    ),
}


@dataclass(frozen=True)
class Rates:
    """Per-word chances of each disfluency (and of CHAT codes that are no disfluency)."""

    filler: float
    retrace: float
    pause: float
    trail: float  # trailing-offs (+...) per word
    unintelligible: float
    fragment: float
    paraphasia: float
    event: float


@dataclass
class Speaker:
    id: str
    label: str  # "AD" or "HC"
    split: str  # "train" or "test"
    severity: float
    age: int
    gender: str
    mmse: int | None
    length: int  # words the speaker means to say
    loyalty: float  # how often the speaker's favourite wording wins (idiolect)
    join_p: float
    drift_p: float
    hedge_p: float
    pronoun_p: float
    vague_p: float
    list_p: float
    tail_p: float
    plain_p: float
    convention: float
    variation: float
    rates: Rates
    notation: str  # "old" (&uh, &f, CLAN %mor) or "new" (&-uh, &+f, UD-style %mor, %wor, @G)
    with_mor: bool
    drops_g: bool  # says "fallin" for "falling", written fallin(g)


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def stratified_normals(rng: random.Random, n: int) -> list[float]:
    """n standard-normal values, one from each of n equal-probability slices, in random order."""
    values = [_NORMAL.inv_cdf((i + rng.random()) / n) for i in range(n)]
    rng.shuffle(values)
    return values


def _lognormal(median: float, sigma: float, z: float) -> float:
    return median * math.exp(sigma * z)


def draw_class(rng: random.Random, label: str, n: int) -> list[dict]:
    """The traits of ``n`` speakers of one class (ids and splits are the caller's)."""
    p = PROFILES[label]
    traits = (
        "severity",
        "length",
        "join",
        "drift",
        "hedge",
        "pronoun",
        "listing",
        "loyalty",
        "hesitancy",
        "filler",
        "retrace",
        "pause",
        "trail",
        "marks_pauses",
        "trails",
        "convention",
    )
    z = {name: stratified_normals(rng, n) for name in traits}
    out = []
    for i in range(n):
        severity = _clip(p.severity[0] + p.severity[1] * z["severity"][i], 0.0, 1.0)
        # the shared hesitancy factor leans on severity: impaired speakers hesitate in every way
        h = z["hesitancy"][i]

        def rate(spec: tuple[float, float], own: float, h: float = h) -> float:
            mixed = p.hesitancy * h + math.sqrt(1 - p.hesitancy**2) * own
            # capped: a short description by a speaker from the far tail would outweigh a class
            return min(RATE_CAP * spec[0], _lognormal(spec[0], spec[1], mixed))

        # stratified too: a class has its share of pause-marking transcribers and of speakers who trail off
        marks_pauses = z["marks_pauses"][i] < _NORMAL.inv_cdf(p.marks_pauses)
        trails = z["trails"][i] < _NORMAL.inv_cdf(p.trail_share)
        out.append(
            {
                "severity": severity,
                "length": max(8, round(_lognormal(p.length[0], p.length[1], z["length"][i]))),
                "join_p": _clip(p.join[0] + p.join[1] * z["join"][i], 0.0, 0.75),
                "drift_p": _clip(p.drift[0] + p.drift[1] * z["drift"][i], 0.0, 0.9),
                "hedge_p": _clip(p.hedge[0] + p.hedge[1] * z["hedge"][i], 0.0, 0.6),
                "pronoun_p": _clip(p.pronoun[0] + p.pronoun[1] * z["pronoun"][i], 0.05, 0.95),
                "vague_p": _clip(0.02 + 0.6 * severity**2 + 0.04 * z["pronoun"][i], 0.0, 0.7),
                "list_p": (
                    p.listing[1]
                    if z["listing"][i] < _NORMAL.inv_cdf(p.listing[0])
                    else _clip(0.05 + 0.05 * z["listing"][i], 0.0, 0.2)
                ),
                "tail_p": _clip(p.tail[0] + p.tail[1] * z["drift"][i], 0.0, 0.8),
                "plain_p": p.plain,
                "convention": _clip(p.convention[0] + p.convention[1] * z["convention"][i], 0.0, 0.98),
                "variation": p.variation,
                # perseveration: the more impaired, the more the same words come back
                "loyalty": _clip(
                    p.loyalty[0] + p.loyalty[1] * z["loyalty"][i] + 0.5 * (severity - p.severity[0]), 0.1, 0.95
                ),
                "rates": Rates(
                    filler=rate(p.filler, z["filler"][i]),
                    retrace=rate(p.retrace, z["retrace"][i]),
                    pause=rate(p.pause, z["pause"][i]) if marks_pauses else 0.0,
                    trail=rate(p.trail, z["trail"][i]) if trails else 0.0,
                    unintelligible=_lognormal(p.unintelligible[0], p.unintelligible[1], h),
                    fragment=_lognormal(0.004 + 0.02 * severity, 0.5, h),
                    paraphasia=0.02 + 0.2 * severity**2,
                    event=0.005 + 0.01 * severity,
                ),
            }
        )
    return out


def make_speaker(rng: random.Random, sid: str, label: str, split: str, traits: dict) -> Speaker:
    """A speaker from drawn traits, plus what is drawn one at a time (age, MMSE, notation ...)."""
    p = PROFILES[label]
    severity = traits["severity"]
    intercept, slope, noise, lo, hi = p.mmse
    mmse: int | None = round(_clip(intercept - slope * severity + rng.gauss(0, noise), lo, hi))
    age = round(_clip(rng.gauss(p.age[0], p.age[1]), p.age[2], p.age[3]))
    # The real ADReSS control metadata has a few missing MMSE scores.
    if label == "HC" and rng.random() < 0.04:
        mmse = None
    return Speaker(
        id=sid,
        label=label,
        split=split,
        age=age,
        mmse=mmse,
        gender="female" if rng.random() < 0.56 else "male",
        notation="new" if rng.random() < 0.5 else "old",
        with_mor=rng.random() < 0.4,
        drops_g=rng.random() < 0.3,
        **traits,
    )
