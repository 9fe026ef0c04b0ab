"""Write the simulated ADReSS-style Cookie Theft cohort shipped with cookiebench.

The cohort stands in for ADReSS 2020 (DementiaBank Pitt), which cannot be redistributed:
156 invented speakers (train 54 HC + 54 AD, test 24 + 24) in the ADReSS folder layout,
with real CHAT notation. It is *simulated*, not clinical data.

Run::

    python -m detect.data.make_simulated_cohort                 # seed 2020 -> detect/data/simulated
    python -m detect.data.make_simulated_cohort --seed 7 --out /tmp/cohort

The same seed gives byte-identical files: every draw comes from one ``random.Random(seed)``
in a fixed order, nothing iterates a set or reads the clock.

How a speaker is made: a latent severity ``s`` in [0, 1] is drawn per speaker from
overlapping class distributions (AD centred high, HC low, tails crossing), and everything
else follows from it -- MMSE, how many Cookie-Theft events are described, how often a
vague phrasing ("he's getting something out of there") replaces a specific one, and the
rates of fillers, retracings, fragments, pauses and trailing-offs. Once a person was
named, later phrases may call them "he" or "she", as people do.

Calibration: the knobs below (``MENTION`` ... ``JOIN_P``, the severity distributions in
:func:`draw_speaker`, the rates in :func:`rates_for`) were tuned so that the project's own
marker extractor measures on this cohort the class means it measures on the real Pitt
cookie transcripts (:data:`MEASURED_STATS` has both). Because mild AD and terse HC
speakers overlap, a markers-only classifier lands near its accuracy on real Pitt (0.74),
not near 100%.
"""

from __future__ import annotations

import logging
import math
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

logger = logging.getLogger(__name__)

DEFAULT_SEED = 2020
DEFAULT_OUT = Path(__file__).resolve().parent / "simulated"

N_TRAIN_PER_CLASS = 54
N_TEST_PER_CLASS = 24

# Calibration knobs (see MEASURED_STATS for what they give). ``s`` is a speaker's severity.
MENTION = (0.95, 2.0)  # logit of describing an event: salience + MENTION[0] - MENTION[1] * s
VAGUE = (0.03, 0.62)  # share of vague phrasings: VAGUE[0] + VAGUE[1] * s
PRONOUN_P = (0.9, 0.1)  # a person named before opens a later phrase as a pronoun
COMMENTS_RATE = 1.5  # Poisson mean of off-unit comments (minus 1.0 * s)
EMPTY_RATE = (0.6, 8.0)  # Poisson mean of empty phrases: EMPTY_RATE[0] + EMPTY_RATE[1] * s^2
HEDGE_P = 0.35  # a phrase gets a hedge ("I think") before or after
JOIN_P = 0.03  # a phrase joins the previous utterance with "and"

# ---------------------------------------------------------------------------------------
# Phrase bank. Slots in braces are filled from SLOTS; each event has specific phrasings
# (name the people and objects) and vague ones (pronouns, "thing", "over there"), so the
# pronoun ratio and information-unit coverage both follow from the vagueness draw.
# ---------------------------------------------------------------------------------------

SLOTS: dict[str, list[str]] = {
    "boy": ["the boy", "the little boy", "the young boy", "the son", "this boy", "the boy", "the brother"],
    "girl": ["the girl", "the little girl", "the sister", "the daughter", "this little girl", "the girl"],
    "woman": ["the mother", "the woman", "the lady", "mother", "the mom", "this lady", "the mother"],
    "cookie": ["cookies", "a cookie", "the cookies", "some cookies", "cookies", "a couple of cookies"],
    "jar": ["the cookie jar", "the jar", "the cookie jar"],
    "stool": ["a stool", "the stool", "a step stool", "the stool", "a kitchen stool"],
    "stool_def": ["the stool", "the stool", "the step stool", "the little stool"],
    "dishes": ["the dishes", "dishes", "the dishes"],
    "plate": ["a plate", "the plate", "a dish", "a plate"],
    "cloth": ["a towel", "a dish towel", "the dishcloth", "a cloth", "a dish rag"],
    "water": ["the water", "water", "the water"],
    "sink": ["the sink", "the sink", "the kitchen sink"],
    "window": ["the window", "a window", "the window"],
    "curtains": ["curtains", "the curtains", "drapes", "the curtains"],
    "cupboard": ["the cupboard", "the cabinet", "the cupboard", "the shelf"],
    "outside": ["the yard", "the garden", "the lawn", "a walkway", "some trees", "the bushes"],
    "kids": ["the kids", "the children", "the kids", "those kids"],
}


@dataclass(frozen=True)
class Event:
    """One thing a speaker can say about the picture."""

    name: str
    salience: float  # logit of being mentioned by a typical healthy speaker
    specific: tuple[str, ...]
    vague: tuple[str, ...]
    tails: tuple[str, ...] = ()  # optional detail a specific phrasing may carry


EVENTS: tuple[Event, ...] = (
    Event(
        "boy_takes_cookie", 3.0,
        (
            "{boy} is taking {cookie} out of {jar}",
            "{boy} is reaching into {jar} for {cookie}",
            "{boy} is stealing {cookie} from {jar}",
            "{boy}'s getting into {jar}",
            "{boy} has his hand in {jar}",
            "there's {boy} up there getting {cookie}",
            "{boy} is grabbing {cookie} out of {jar}",
            "{boy} is helping himself to {cookie}",
            "{boy} is trying to get {cookie} down from {jar}",
            "{boy}'s reaching up into {cupboard} for {jar}",
            "up in {cupboard} {boy} is getting {cookie}",
            "{boy} is up on {stool} taking {cookie}",
            "{boy} is getting {cookie} for {girl}",
            "{boy} is in {jar} after {cookie}",
        ),
        (
            "he's getting something out of there",
            "he's taking them",
            "the kid is reaching up there for the thing",
            "this one is getting into that",
            "he's got his hand in the thing",
            "he's up there getting some",
            "the kid is taking something",
            "he's after the stuff up there",
        ),
        ("behind everybody's back", "with one hand", "on the top", "while nobody is looking",
         "for the two of them", "up high", "as fast as possible", "very quietly"),
    ),
    Event(
        "stool_falls", 2.0,
        (
            "{boy} is standing on {stool} and {stool_def} is tipping over",
            "{stool_def} is tipping over",
            "{stool_def} is about to fall over",
            "{boy}'s going to fall off {stool_def}",
            "{boy} is on {stool} and it's going to fall",
            "{stool_def} is tilting and {boy} is going to fall",
            "{boy} is about to fall off {stool_def}",
            "{stool_def}'s going over",
            "{boy} is on {stool} that is falling",
            "{boy}'s gonna fall off {stool_def}",
            "{boy} is losing his balance on {stool_def}",
            "{stool_def} is falling out from under {boy}",
            "one leg of {stool_def} is off the floor",
        ),
        (
            "he's gonna fall",
            "the kid is standing on that thing and the thing is tipping",
            "that's falling over",
            "he's gonna get hurt",
            "the thing is going over",
            "the kid is going to fall down",
        ),
        ("any minute now", "with a crash", "in a second", "right now", "any second"),
    ),
    Event(
        "girl_reaches", 1.6,
        (
            "{girl} is reaching up for {cookie}",
            "{girl} is asking for {cookie}",
            "{girl} has her hand out for {cookie}",
            "{girl} is waiting for {cookie}",
            "{girl} wants {cookie} too",
            "{girl} is reaching for one",
            "{girl} is holding her hand up",
            "{boy} is handing {cookie} to {girl}",
            "{girl} is saying shh to {boy}",
            "{girl} has a finger on her lips",
            "{girl} is laughing at {boy}",
            "{girl} is standing by {boy} asking for {cookie}",
        ),
        (
            "she wants one too",
            "she's reaching up there",
            "the other kid has her hand out",
            "she's laughing",
            "the other one wants some",
            "that one wants the thing",
        ),
        ("on tiptoe", "with a big smile", "right there", "very politely"),
    ),
    Event(
        "mother_dishes", 2.2,
        (
            "{woman} is drying {dishes}",
            "{woman} is washing {dishes}",
            "{woman} is doing {dishes}",
            "{woman} is standing there drying {plate}",
            "{woman} is drying {plate} with {cloth}",
            "{woman}'s washing up at {sink}",
            "{woman} is wiping {plate}",
            "{woman} is at {sink} doing {dishes}",
            "{woman} is drying {dishes} at {sink}",
            "{woman} is busy with {dishes}",
        ),
        (
            "she's doing the dishes",
            "the lady is drying something",
            "she's wiping the thing",
            "the lady is working over there",
            "she's doing that",
        ),
        ("after dinner", "after lunch", "very calmly", "in a dream", "as usual"),
    ),
    Event(
        "sink_overflows", 2.0,
        (
            "{water} is running over {sink}",
            "{sink} is overflowing",
            "{sink} is running over",
            "{water} is spilling onto the floor",
            "{water}'s overflowing out of {sink}",
            "{water} is coming over the edge of {sink}",
            "the faucet is on and {sink} is overflowing",
            "{water} is pouring out on the floor",
            "{sink}'s full and {water} is going all over",
            "{water} is splashing on the floor",
        ),
        (
            "it's running over",
            "the stuff is all over the floor",
            "that's spilling",
            "there's stuff going on the floor",
            "it's coming down there",
            "the thing is going all over",
        ),
        ("all over", "onto the mother's shoes", "into a puddle", "everywhere"),
    ),
    Event(
        "mother_unaware", 0.6,
        (
            "{woman} doesn't notice {water}",
            "{woman} doesn't see {sink} running over",
            "{woman} is not paying attention to {water}",
            "{woman} is daydreaming",
            "{woman} doesn't even know {water} is running over",
            "{woman} is not watching {kids}",
            "{woman} doesn't see what {kids} are doing",
            "{woman} is ignoring {kids}",
            "{woman} is paying no attention",
        ),
        (
            "she doesn't see it",
            "she doesn't know",
            "she's not looking",
        ),
        ("at all", "for a minute", "with her mind somewhere else"),
    ),
    Event(
        "window_curtains", 0.7,
        (
            "there's {window} with {curtains}",
            "{window} is open",
            "{curtains} are open",
            "there are {curtains} on {window}",
            "{woman} is standing by {window}",
            "{window} behind {woman} has {curtains}",
        ),
        (
            "there's something up there",
            "that's open",
        ),
        ("over there", "behind the mother", "in the back"),
    ),
    Event(
        "outside", 0.1,
        (
            "you can see {outside} through {window}",
            "outside there's {outside}",
            "it looks like a nice day outside",
            "there's a path and some bushes outside",
            "you can see the garden out there",
            "outside {window} there's {outside}",
        ),
        (
            "it's nice out there",
            "there's trees out there",
        ),
    ),
    Event(
        "kitchen", 0.4,
        (
            "it's in a kitchen",
            "this is a kitchen",
            "the picture is a kitchen scene",
            "the family is all in the kitchen",
            "the room looks like a kitchen",
        ),
        (
            "it's a house",
            "they're at home",
        ),
    ),
    Event(
        "cupboard", -0.2,
        (
            "the door of {cupboard} is open",
            "{jar} is up in {cupboard}",
            "{cupboard} door is open",
            "there are cups in {cupboard}",
        ),
        (
            "that door is open",
            "it's up there",
        ),
    ),
    Event(
        "counter_dishes", -0.6,
        (
            "there are {dishes} on the counter",
            "there's a couple of cups and {plate} on the counter",
            "there are two cups and a plate on the side",
            "some {dishes} are sitting there already dry",
        ),
        (
            "there's some things there",
            "there's stuff on there",
        ),
    ),
    Event(
        "plate_cloth", -0.3,
        (
            "{woman} is holding {plate} in her hand and {cloth} in the other",
            "{woman} has {cloth} in her hand",
            "{woman}'s got {plate} and {cloth}",
        ),
        (
            "she's holding something",
        ),
    ),
)

# Talk about the scene that carries no information unit; both groups use it.
COMMENTS: tuple[str, ...] = (
    "the floor is getting wet",
    "the floor is a mess",
    "{kids} are up to mischief",
    "the mother will have to clean up the mess",
    "somebody's gonna get in trouble",
    "{kids} are being naughty",
    "the family looks busy",
    "the kids are having a good time",
    "the mother will get a surprise",
    "the two kids look like twins",
    "the brother will get caught",
    "the summer day looks warm",
    "my mother kept the cookies up high too",
    "the picture is an old drawing",
    "the shoes are getting wet",
    "the kids are hungry I guess",
    "the grandchildren would do the same thing",
    "the house has a nice view",
    "the apron looks old fashioned",
    "nobody is wearing shoes",
    "the family has a nice house",
    "the day must be hot",
    "the weather looks nice",
)

# Empty, circumlocutory talk; its rate rises with severity.
EMPTY: tuple[str, ...] = (
    "I don't know what else",
    "let me see",
    "the name of the thing",
    "the thing over there",
    "and some stuff here",
    "that thing",
    "the whatchamacallit",
    "over there",
    "oh my",
    "the other thing",
    "this and that",
    "what do you call it",
    "the other one there",
    "nothing else",
    "the thing with the stuff",
    "the thing you know",
    "the stuff over there",
    "the thing on the thing",
    "the other stuff",
    "there's that",
    "something like that",
    "I can't think of it",
)

CLOSINGS: tuple[str, ...] = ("that's about it", "that's all I see", "that's about all", "that's it", "that's all")
OPENERS: tuple[str, ...] = ("well", "and", "oh", "okay", "so", "and then", "now")
HEDGES: tuple[str, ...] = (
    "right now", "at the moment", "apparently", "of course", "I think", "probably", "in the picture",
    "in this scene", "I would say", "for sure", "I believe", "in the drawing", "I guess",
    "it seems", "you know", "I think", "I suppose", "as far as I can see",
)
PRESENTERS: tuple[str, ...] = (
    "I see", "and then", "and over here", "I can see", "you can see", "in the drawing",
    "on the left", "on the right side", "meanwhile", "it looks like",
)
INV_PROMPTS: tuple[str, ...] = (
    "just tell me everything you see happening in that picture .",
    "tell me everything that you see going on in that picture .",
    "tell me all of the action you see happening in the picture .",
)
INV_FOLLOWUPS: tuple[str, ...] = (
    "anything else ?", "mhm .", "okay .", "what else ?", "good .", "anything else going on ?",
)

# Phonological fragments, written &+f in current CHAT and &f in older Pitt files.
FRAGMENTS: tuple[str, ...] = ("f", "wa", "b", "s", "k", "st", "th", "d", "m")
EVENTS_CODES: tuple[str, ...] = ("&=laughs", "&=clears:throat", "&=sighs", "&=points")
# Talk the transcribers exclude from analysis ([+ exc]): asides to the investigator.
EXCLUDED: tuple[str, ...] = (
    "mhm .", "alright .", "okay .", "should I start ?", "you want me to tell you what's going on ?",
    "I can't see it too good .", "is that what you want ?", "oh boy .",
)
BACKCHANNELS: tuple[str, ...] = ("mhm .", "yeah .", "okay .", "uhhuh .")
# -ing words that are no progressive forms: never written fallin(g)
_NOT_ING = frozenset({"thing", "something", "nothing", "anything", "everything", "morning", "ceiling"})
# Phonological paraphasias: (said, target).
PARAPHASIAS: dict[str, str] = {
    "cookie": "cootie", "cookies": "tookies", "stool": "stoop", "sink": "sint", "water": "wawer",
    "dishes": "fishes", "jar": "jaw", "curtains": "curtings", "window": "winder", "plate": "plake",
}
SEMANTIC: dict[str, str] = {"stool": "chair", "jar": "can", "sink": "tub", "cupboard": "closet", "plate": "bowl"}

# ---------------------------------------------------------------------------------------
# Dependent tiers: a small lexicon is enough for plausible %mor/%gra content.
# ---------------------------------------------------------------------------------------
MOR_LEX: dict[str, str] = {
    "the": "det:art|the", "a": "det:art|a", "an": "det:art|a", "this": "det:dem|this", "that": "pro:dem|that",
    "some": "qn|some", "he": "pro:sub|he", "she": "pro:sub|she", "it": "pro:per|it", "they": "pro:sub|they",
    "I": "pro:sub|I", "you": "pro:per|you", "his": "det:poss|his", "her": "det:poss|her", "them": "pro:obj|them",
    "is": "aux|be&3S", "are": "aux|be&PRES", "and": "coord|and", "of": "prep|of", "in": "prep|in",
    "on": "prep|on", "out": "adv|out", "up": "adv|up", "to": "inf|to", "for": "prep|for", "from": "prep|from",
    "there": "adv|there", "with": "prep|with", "not": "neg|not", "at": "prep|at", "over": "prep|over",
    "into": "prep|into", "off": "prep|off", "all": "qn|all", "too": "adv|too", "something": "pro:indef|something",
    "looks": "cop|look&3S", "has": "v|have&3S", "wants": "v|want-3S", "doesn't": "mod|do&3S~neg|not",
    "gonna": "aux|go-PRESP~inf|to", "then": "adv|then", "now": "adv|now", "well": "co|well", "oh": "co|oh",
    "okay": "co|okay", "so": "coord|so", "what": "pro:int|what", "else": "post|else", "one": "pro:indef|one",
}


# ---------------------------------------------------------------------------------------
# Speakers
# ---------------------------------------------------------------------------------------


@dataclass
class Speaker:
    id: str
    label: str  # "AD" or "HC"
    split: str  # "train" or "test"
    severity: float
    age: int
    gender: str
    mmse: int | None
    verbosity: float  # style factor independent of severity: some people just talk more
    notation: str  # "old" (&uh, &f, CLAN %mor) or "new" (&-uh, &+f, UD-style %mor, %wor, @G)
    with_mor: bool
    drops_g: bool  # says "fallin" for "falling", written fallin(g)
    utterances: list[str] = field(default_factory=list)


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam stays small here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def draw_speaker(rng: random.Random, sid: str, label: str, split: str) -> Speaker:
    if label == "AD":
        # Mild cases (low s) describe the picture about as well as a terse control.
        severity = _clip(rng.gauss(0.64, 0.165), 0.05, 1.0)
        mmse: int | None = int(round(_clip(29.0 - 15.0 * severity + rng.gauss(0, 2.2), 8, 28)))
        age = int(round(_clip(rng.gauss(69.5, 6.8), 53, 80)))
    else:
        severity = _clip(rng.gauss(0.27, 0.14), 0.0, 0.95)
        mmse = int(round(_clip(30.0 - 3.0 * severity + rng.gauss(0, 1.1), 25, 30)))
        age = int(round(_clip(rng.gauss(66.0, 6.5), 50, 80)))
        # The real ADReSS control metadata has a few missing MMSE scores.
        if rng.random() < 0.04:
            mmse = None
    gender = "female" if rng.random() < 0.56 else "male"
    return Speaker(
        id=sid,
        label=label,
        split=split,
        severity=severity,
        age=age,
        gender=gender,
        mmse=mmse,
        verbosity=rng.gauss(0.0, 0.35),
        notation="new" if rng.random() < 0.5 else "old",
        with_mor=rng.random() < 0.4,
        drops_g=rng.random() < 0.3,
    )


# ---------------------------------------------------------------------------------------
# Content: which events, in which words
# ---------------------------------------------------------------------------------------


# Once a person or thing was named, a speaker may refer to it with a pronoun: slot ->
# (subject form, object form). A slot followed by a verb takes the subject form.
_PRONOUNS: dict[str, tuple[str, str]] = {
    "boy": ("he", "him"), "girl": ("she", "her"), "woman": ("she", "her"), "kids": ("they", "them"),
    "cookie": ("they", "them"), "jar": ("it", "it"), "stool_def": ("it", "it"),
}
_CONTRACTED = {"he": "he's", "she": "she's", "it": "it's", "they": "they're"}
_SLOT = re.compile(r"\{(\w+)\}(?=('s| is| are| has| wants| doesn't)?)")


def _fill(rng: random.Random, template: str, named: set[str] | None = None, pronoun_p: float = 0.0) -> str:
    """Fills the slots; what was ``named`` before may come back as a pronoun (``named`` is updated)."""

    def fill(m: re.Match) -> str:
        slot, verb = m.group(1), m.group(2)
        if named is not None and slot in _PRONOUNS:
            seen = slot in named
            named.add(slot)
            if seen and rng.random() < pronoun_p:
                subject, obj = _PRONOUNS[slot]
                return subject if verb or m.start() == 0 else obj
        return rng.choice(SLOTS[slot])

    text = _SLOT.sub(fill, template)
    # "he is" -> "he's" most of the time, as people say it
    return re.sub(r"\b(he|she|it|they) (is|are)\b",
                  lambda m: _CONTRACTED[m.group(1)] if rng.random() < 0.6 else m.group(0), text)


@dataclass(frozen=True)
class _Phrase:
    pos: float  # speaking-order key
    template: str
    prefix: str = ""
    suffix: str = ""


def plan_phrases(rng: random.Random, sp: Speaker) -> list[str]:
    """Clean phrases (no disfluencies) in speaking order."""
    s, v = sp.severity, sp.verbosity
    vague_p = _clip(VAGUE[0] + VAGUE[1] * s + rng.gauss(0, 0.06), 0.0, 0.9)
    tail_p = _clip(0.35 - 0.15 * s + 0.2 * v, 0.05, 0.9)
    phrases: list[_Phrase] = []
    for rank, ev in enumerate(EVENTS):
        p = _sigmoid(ev.salience + MENTION[0] - MENTION[1] * s + 0.5 * v)
        n = 1 if rng.random() < p else 0
        # Healthy talkers elaborate on the big events; impaired ones perseverate on them.
        if n and rng.random() < 0.05 + 0.2 * max(v, 0) + 0.3 * s:
            n = 2
        for k in range(n):
            vague = rng.random() < vague_p
            template = rng.choice(ev.vague if vague else ev.specific)
            if not vague and ev.tails and rng.random() < tail_p:
                template = f"{template} {rng.choice(ev.tails)}"
            phrases.append(_Phrase(rank + rng.gauss(0, 1.2 + 2.5 * s) + 4 * k * (0.5 + s), template))
    n_comments = min(len(COMMENTS), _poisson(rng, _clip(COMMENTS_RATE - 1.0 * s + 1.5 * v, 0.2, 6.0)))
    for text in rng.sample(COMMENTS, n_comments):
        phrases.append(_Phrase(rng.uniform(0, len(EVENTS)), text))
    # Hedges and presenters lengthen descriptions the way real talk does; empty talk
    # (added below) stays bare.
    hedge_p = _clip(HEDGE_P - 0.15 * s + 0.15 * v, 0.05, 0.6)
    dressed: list[_Phrase] = []
    for ph in phrases:
        roll = rng.random()
        if roll < hedge_p / 2:
            ph = _Phrase(ph.pos, ph.template, prefix=rng.choice(HEDGES))
        elif roll < hedge_p:
            ph = _Phrase(ph.pos, ph.template, suffix=rng.choice(HEDGES))
        elif roll < hedge_p + 0.1 and not ph.template.startswith(("there", "it's", "you", "outside", "up ")):
            ph = _Phrase(ph.pos, ph.template, prefix=rng.choice(PRESENTERS))
        dressed.append(ph)
    n_empty = min(len(EMPTY), _poisson(rng, EMPTY_RATE[0] + EMPTY_RATE[1] * s * s))
    for text in rng.sample(EMPTY, n_empty):
        dressed.append(_Phrase(rng.uniform(0, len(EVENTS) + 2), text))
    dressed.sort(key=lambda ph: ph.pos)
    # Filled in speaking order, so a person named once can be "he" or "she" from then on.
    named: set[str] = set()
    pronoun_p = _clip(PRONOUN_P[0] + PRONOUN_P[1] * s, 0.0, 0.95)
    out = [" ".join(x for x in (ph.prefix, _fill(rng, ph.template, named, pronoun_p), ph.suffix) if x)
           for ph in dressed]
    if not out:
        out = [rng.choice(EMPTY)]
    if rng.random() < 0.6:
        out.append(rng.choice(CLOSINGS))
    return out


def group_utterances(rng: random.Random, phrases: list[str], sp: Speaker) -> list[list[str]]:
    """Join some phrases with 'and' into longer utterances (healthy speakers more often)."""
    groups: list[list[str]] = []
    join_p = _clip(JOIN_P + 0.1 * sp.severity + 0.1 * sp.verbosity, 0.02, 0.5)
    for ph in phrases:
        if groups and len(groups[-1]) < 3 and rng.random() < join_p:
            groups[-1].append(ph)
        else:
            groups.append([ph])
    return groups


# ---------------------------------------------------------------------------------------
# CHAT rendering: clean words -> a main tier with disfluency codes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    filler: float
    repeat: float
    revise: float
    fragment: float
    pause: float
    trail: float
    unintelligible: float
    paraphasia: float
    event: float


def rates_for(rng: random.Random, sp: Speaker) -> Rates:
    s = sp.severity

    def jitter(x: float) -> float:
        return max(0.0, x * math.exp(rng.gauss(0, 0.3)))

    return Rates(
        filler=jitter(0.027 + 0.012 * s),  # Pitt: fillers are about as common in HC as in AD
        repeat=jitter(0.003 + 0.012 * s),
        revise=jitter(0.003 + 0.055 * s),
        fragment=jitter(0.004 + 0.02 * s),
        pause=jitter(0.005 + 0.025 * s),
        trail=jitter(0.005 + 0.11 * s * s),
        unintelligible=jitter(0.007 * s * s),
        paraphasia=jitter(0.02 + 0.2 * s * s),
        event=jitter(0.005 + 0.01 * s),
    )


def render_utterance(rng: random.Random, words: list[str], sp: Speaker, r: Rates) -> tuple[str, list[str]]:
    """One *PAR main-tier line (no bullet) and the clean words actually spoken."""
    filler_mark = "&-" if sp.notation == "new" else "&"
    trail = len(words) > 3 and rng.random() < r.trail
    if trail:
        # A trailing-off utterance stops before it is finished.
        words = words[: rng.randint(2, len(words) - 1)]
    out: list[str] = []
    spoken: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if rng.random() < r.filler:
            out.append(filler_mark + rng.choice(("uh", "uh", "um", "um", "er")))
        if rng.random() < r.pause:
            out.append(rng.choice(("(.)", "(.)", "(..)", "(...)")))
        if rng.random() < r.event:
            out.append(rng.choice(EVENTS_CODES))
        if rng.random() < r.fragment:
            out.append(("&+" if sp.notation == "new" else "&") + rng.choice(FRAGMENTS))
        if rng.random() < r.unintelligible:
            out.append("xxx")
        roll = rng.random()
        if roll < r.repeat:
            reps = 1 if rng.random() < 0.8 else 2
            out.append(f"{w} [/] " * reps + w)
            spoken.append(w)
            i += 1
            continue
        if roll < r.repeat + r.revise and i + 2 < len(words):
            span = words[i : i + 2]
            kind = rng.random()
            if kind < 0.55 and span[0] in ("the", "a", "this", "that"):
                # Retrace with correction: the wrong noun, then the right phrase.
                wrong = [span[0], rng.choice(("girl", "boy", "mother", "thing", "one", "water", "sink", "cookie"))]
                out.append(f"<{' '.join(wrong)}> [//]")
            elif kind < 0.85 or span[0] not in ("he", "she", "it", "they", "the"):
                out.append(f"<{' '.join(span)}> [/]")
            else:
                out.append(f"<{rng.choice(('he', 'she', 'it', 'they'))} is> [///]")
            out.extend(span)
            spoken.extend(span)
            i += 2
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
        if sp.drops_g and w.endswith("ing") and w not in _NOT_ING and rng.random() < 0.5:
            out.append(f"{w[:-1]}(g)")  # said "fallin", meant "falling"
        else:
            out.append(w)
        spoken.append(w)
        i += 1
    if trail:
        out.append("+...")
    elif rng.random() < 0.03:
        out.append("+/.")
    else:
        out.append(rng.choices((".", "?", "!"), weights=(0.97, 0.015, 0.015))[0])
    return " ".join(out), spoken


# CLAN part-of-speech codes -> the UD-style ones of current DementiaBank releases.
_UD_POS = {
    "det:art": "det", "det:dem": "det", "det:poss": "det", "qn": "det", "pro:sub": "pron", "pro:per": "pron",
    "pro:obj": "pron", "pro:dem": "pron", "pro:indef": "pron", "pro:int": "pron", "pro": "pron", "n": "noun",
    "v": "verb", "part": "verb", "aux": "aux", "cop": "aux", "mod": "aux", "prep": "adp", "coord": "cconj",
    "adv": "adv", "inf": "part", "neg": "part", "co": "intj", "post": "adv",
}
_UD_FEATURES = (("-PRESP", "-Part-Pres-S"), ("-PL", "-Plur"), ("&3S", "-Fin-Ind-Pres-S3"), ("&PRES", "-Fin-Ind-Pres"),
                ("-3S", "-Fin-Ind-Pres-S3"))


def ud_mor(mor: str) -> str:
    """A CLAN-style %mor line in the UD-style notation (``n|cookie-PL`` -> ``noun|cookie-Plur``)."""
    items = []
    for item in mor.split(" "):
        parts = []
        for word in item.split("~"):
            pos, sep, rest = word.partition("|")
            for old, new in _UD_FEATURES:
                rest = rest.replace(old, new)
            parts.append(f"{_UD_POS.get(pos, pos)}{sep}{rest}" if sep else word)
        items.append("~".join(parts))
    return " ".join(items)


def mor_tiers(words: list[str], terminator: str) -> tuple[str, str]:
    """Plausible %mor and %gra lines for clean words (the reader ignores both)."""
    mor = []
    for w in words:
        base = w.split("'")[0]
        if w in MOR_LEX:
            mor.append(MOR_LEX[w])
        elif "'" in w:
            pos = "pro" if base in ("he", "she", "it", "that", "there") else "n"
            mor.append(f"{pos}|{base}~aux|be&3S")
        elif w.endswith("ing") and w not in ("thing", "something", "nothing", "anything", "everything"):
            stem = w[:-3]
            stem = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls" else stem
            mor.append(f"part|{stem}-PRESP")  # getting -> get, spilling -> spill
        elif w.endswith(("shes", "ches", "sses")):
            mor.append(f"n|{w[:-2]}-PL")  # dishes -> dish
        elif w.endswith("s") and len(w) > 3:
            mor.append(f"n|{w[:-1]}-PL")
        else:
            mor.append(f"n|{w}")
    n = len(mor)
    root = next((i for i, m in enumerate(mor) if m.startswith("part|")), n - 1) + 1
    gra = []
    for i in range(1, n + 1):
        if i == root:
            gra.append(f"{i}|0|ROOT")
        else:
            rel = "DET" if mor[i - 1].startswith("det") else "SUBJ" if mor[i - 1].startswith("pro:sub") else (
                "AUX" if mor[i - 1].startswith("aux") else "JCT" if mor[i - 1].startswith("prep") else "OBJ"
            )
            gra.append(f"{i}|{min(i + 1, root) if i < root else root}|{rel}")
    gra.append(f"{n + 1}|{root}|PUNCT")
    return " ".join(mor + [terminator]), " ".join(gra)


def wrap_tier(line: str, width: int = 78) -> str:
    """Wrap a long tier the CHAT way: continuation lines start with a TAB."""
    head, body = line.split("\t", 1)
    if len(line) <= width:
        return line
    parts, cur = [], ""
    # A terminator stays on the line of the word it ends.
    tokens: list[str] = []
    for tok in body.split(" "):
        if tokens and tok in (".", "?", "!", "+...", "+/."):
            tokens[-1] += " " + tok
        else:
            tokens.append(tok)
    for tok in tokens:
        if cur and len(cur) + 1 + len(tok) > width - 8:
            parts.append(cur)
            cur = tok
        else:
            cur = f"{cur} {tok}" if cur else tok
    parts.append(cur)
    return head + "\t" + "\n\t".join(parts)


def wor_tier(words: list[str], terminator: str, span: tuple[int, int]) -> str:
    """A %wor tier: each word said with its own media bullet, the utterance's time shared evenly."""
    start, end = span
    step = (end - start) // max(1, len(words))
    timed = [f"{w} \x15{start + i * step}_{start + (i + 1) * step}\x15" for i, w in enumerate(words)]
    return " ".join([*timed, terminator])


def write_chat(rng: random.Random, sp: Speaker) -> str:
    rates = rates_for(rng, sp)
    phrases = plan_phrases(rng, sp)
    groups = group_utterances(rng, phrases, sp)
    group_label = "ProbableAD" if sp.label == "AD" else "Control"
    mmse_field = "" if sp.mmse is None else str(sp.mmse)
    lines = [
        "@UTF8",
        f"@PID:\t11312/t-{rng.randint(0, 99999):08d}-1",
        "@Begin",
        "@Languages:\teng",
        "@Participants:\tPAR Participant, INV Investigator",
        f"@ID:\teng|Pitt|PAR|{sp.age};|{sp.gender}|{group_label}||Participant|{mmse_field}||",
        "@ID:\teng|Pitt|INV|||||Investigator|||",
        f"@Media:\t{sp.id}, audio",
    ]
    if sp.notation == "new" and rng.random() < 0.5:
        lines.append("@G:\tCookie")  # a gem: the task this stretch of talk belongs to
    t = rng.randint(0, 2500)

    def tier(speaker: str, text: str, with_bullet: bool) -> tuple[int, int] | None:
        """Appends a main tier; returns its media times (ms) when it got a bullet."""
        nonlocal t
        span = None
        if with_bullet:
            dur = 300 * max(1, len(text.split()))
            span = (t, t + dur)
            t += dur + rng.randint(150, 1200)
            text += f" \x15{span[0]}_{span[1]}\x15"
        lines.append(wrap_tier(f"*{speaker}:\t{text}"))
        return span

    use_bullets = rng.random() < 0.8
    prompt = rng.choice(INV_PROMPTS)
    overlapped = rng.random() < 0.15
    if overlapped:
        # the participant starts while the investigator is still talking: an unscoped [>]
        # on one word, and a lazy overlap (+<) on the reply
        words = prompt.split()
        k = rng.randint(1, len(words) - 3)
        prompt = " ".join([*words[: k + 1], "[>]", *words[k + 1 :]])
    tier("INV", prompt, use_bullets)
    if overlapped:
        tier("PAR", f"+< {rng.choice(('okay', 'alright', 'mhm'))} [<] . [+ exc]", use_bullets)
    elif rng.random() < 0.25:
        tier("PAR", f"{rng.choice(EXCLUDED)} [+ exc]", use_bullets)
    followups_left = 1 + int(rng.random() < 0.5 + 0.4 * sp.severity)
    for gi, group in enumerate(groups):
        words = []
        for pi, ph in enumerate(group):
            toks = ph.split()
            if pi > 0 and toks[0] != "and":
                words.append("and")
            elif pi == 0 and rng.random() < 0.3 and toks[0] not in OPENERS:
                words.extend(rng.choice(OPENERS).split())
            words.extend(toks)
        main, spoken = render_utterance(rng, words, sp, rates)
        span = tier("PAR", main, use_bullets and rng.random() < 0.85)
        if sp.with_mor and spoken and rng.random() < 0.7:
            mor, gra = mor_tiers(spoken, main.split()[-1])
            lines.append(wrap_tier(f"%mor:\t{ud_mor(mor) if sp.notation == 'new' else mor}"))
            lines.append(wrap_tier(f"%gra:\t{gra}"))
            if sp.notation == "new" and span is not None:
                lines.append(wrap_tier(f"%wor:\t{wor_tier(spoken, main.split()[-1], span)}"))
        if gi < len(groups) - 1 and rng.random() < 0.07:
            tier("INV", f"+< {rng.choice(BACKCHANNELS)}", use_bullets)
        if followups_left and gi in (len(groups) // 2, len(groups) - 2) and len(groups) > 3:
            tier("INV", rng.choice(INV_FOLLOWUPS), use_bullets)
            followups_left -= 1
            if rng.random() < 0.15:
                tier("PAR", f"{rng.choice(EXCLUDED)} [+ exc]", use_bullets)
    lines.append("@End")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Cohort layout
# ---------------------------------------------------------------------------------------


def draw_cohort(seed: int) -> tuple[list[Speaker], dict[str, str]]:
    """Speakers and their CHAT text, keyed by speaker id; no files written."""
    rng = random.Random(seed)
    speakers: list[Speaker] = []
    n = 0
    for label in ("HC", "AD"):  # ADReSS numbers controls first (cc), then dementia (cd)
        for _ in range(N_TRAIN_PER_CLASS):
            n += 1
            speakers.append(draw_speaker(rng, f"S{n:03d}", label, "train"))
    test_labels = ["AD"] * N_TEST_PER_CLASS + ["HC"] * N_TEST_PER_CLASS
    rng.shuffle(test_labels)
    for label in test_labels:
        n += 1
        speakers.append(draw_speaker(rng, f"S{n:03d}", label, "test"))
    chats = {sp.id: write_chat(rng, sp) for sp in speakers}
    return speakers, chats


# Class means measured on the default-seed cohort through detect.readers.load_corpus and
# detect.markers.MarkerExtractor; kept here (not computed at write time) so writing the
# cohort needs no spaCy and stays byte-identical. Update by hand after changing the bank.
MEASURED_STATS = """\
Class means on this cohort (seed 2020), read with `detect.readers.load_corpus()` and
measured with `detect.markers.MarkerExtractor` (rates are per word), next to what the same
extractor measures on the real DementiaBank Pitt cookie transcripts (548 transcripts):

| marker | AD | real AD | HC | real HC |
|---|---:|---:|---:|---:|
| iu_coverage | 0.501 | 0.511 | 0.669 | 0.655 |
| words | 98.6 | 96.7 | 110.7 | 105.5 |
| mattr | 0.803 | 0.814 | 0.832 | 0.821 |
| mean_utterance_length | 7.86 | 7.71 | 8.48 | 8.29 |
| pronoun_ratio | 0.389 | 0.409 | 0.329 | 0.332 |
| noun_rate | 0.205 | 0.209 | 0.222 | 0.234 |
| filler_rate | 0.033 | 0.035 | 0.032 | 0.032 |
| retracing_rate | 0.038 | 0.037 | 0.019 | 0.018 |
| pause_rate | 0.024 | 0.020 | 0.011 | 0.012 |
| disfluency_rate | 0.104 | 0.101 | 0.064 | 0.064 |
| words (median) | 97.5 | | 108.5 | |
| MMSE (mean, range) | 19.2 (9-27) | | 29.1 (27-30) | |
| age (mean) | 68.7 | | 66.0 | |

`cookiebench detect cv` (speaker-grouped 5-fold x 3 seeds) on the whole cohort: markers
accuracy 0.761, TF-IDF 0.788 (on real Pitt: 0.743 and 0.773).

With 54 speakers a class, one seed's means wander a few points around the generator's
targets, and so does accuracy (markers-only over seeds 1-7: 0.71-0.81).
"""


def _meta_row(*cells: object) -> str:
    return " ; ".join("NA" if c is None else str(c) for c in cells) + "\n"


README = """\
# Simulated ADReSS-style Cookie Theft cohort

**Simulated data, not clinical data.** No real person said any of this. These files stand in
for ADReSS 2020 (a subset of DementiaBank Pitt), which cannot be redistributed, so that
cookiebench installs, runs and tests without a data-use agreement.

## Layout (same as ADReSS 2020)

```
train/cc_meta_data.txt, train/cd_meta_data.txt   ID ; age ; gender ; mmse   (HC / AD)
train/transcription/cc/*.cha                     {n_train} HC speakers
train/transcription/cd/*.cha                     {n_train} AD speakers
test/meta_data.txt                               ID ; age ; gender          (no labels)
test/meta_data_test.txt                          ID ; age ; gender ; Label ; mmse  (0 = HC, 1 = AD)
test/transcription/*.cha                         {n_test} AD + {n_test} HC, ids shuffled
```

## How it was made

`python -m detect.data.make_simulated_cohort --seed {seed}` (module docstring has details).
Each speaker gets a latent severity drawn from overlapping class distributions; MMSE, how
many of the Cookie-Theft events are described, how vaguely (pronouns, "thing", "over
there"), and the rates of fillers, retracings, fragments, pauses and trailing-offs all
follow from it. Phrasings come from a bank with several wordings per information unit.
The CHAT mixes the notations real Pitt files have: old `&uh` and new `&-uh` fillers,
fragments (`&wa`, `&+wa`), events (`&=laughs`), `xxx`, pauses, `[/]` `[//]` `[///]`
retracings, `[: target] [* p:w]` error codes, shortenings (`fallin(g)`), `+...` and `+/.`,
asides excluded with `[+ exc]`, overlaps (`[>]` on one word, `+<` on the reply), media
bullets, continuation lines, `@G` gems, and `%mor`/`%gra` tiers (CLAN-style in old files,
UD-style with `%wor` word timings in new ones).

## Regenerate

```
python -m detect.data.make_simulated_cohort --seed {seed} --out detect/data/simulated
```

The same seed gives byte-identical files (checked by `tests/detect/test_cohort.py`).

## Measured statistics

{stats}
"""


def write_cohort(out: Path, seed: int = DEFAULT_SEED) -> list[Speaker]:
    """Write the cohort under ``out`` (replacing train/ and test/ there) and return its speakers."""
    speakers, chats = draw_cohort(seed)
    out = Path(out)
    for sub in ("train", "test"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / "train/transcription/cc").mkdir(parents=True)
    (out / "train/transcription/cd").mkdir(parents=True)
    (out / "test/transcription").mkdir(parents=True)

    header_train = "ID   ; age; gender ; mmse\n"
    cc = [header_train]
    cd = [header_train]
    test_meta = ["ID   ; age; gender\n"]
    test_labels = ["ID   ; age; gender ; Label ; mmse\n"]
    for sp in speakers:
        if sp.split == "train":
            sub = "cc" if sp.label == "HC" else "cd"
            path = out / "train/transcription" / sub / f"{sp.id}.cha"
            (cc if sp.label == "HC" else cd).append(_meta_row(f"{sp.id:<4}", sp.age, sp.gender, sp.mmse))
        else:
            path = out / "test/transcription" / f"{sp.id}.cha"
            test_meta.append(_meta_row(sp.id, sp.age, sp.gender))
            test_labels.append(_meta_row(sp.id, sp.age, sp.gender, 1 if sp.label == "AD" else 0, sp.mmse))
        path.write_bytes(chats[sp.id].encode("utf-8"))
    for name, rows in (
        ("train/cc_meta_data.txt", cc),
        ("train/cd_meta_data.txt", cd),
        ("test/meta_data.txt", test_meta),
        ("test/meta_data_test.txt", test_labels),
    ):
        (out / name).write_bytes("".join(rows).encode("utf-8"))
    stats = MEASURED_STATS.rstrip("\n") if seed == DEFAULT_SEED else "Not measured for this seed."
    readme = README.format(n_train=N_TRAIN_PER_CLASS, n_test=N_TEST_PER_CLASS, seed=seed, stats=stats)
    (out / "README.md").write_bytes(readme.encode("utf-8"))
    logger.debug("wrote %d speakers to %s", len(speakers), out)
    return speakers


app = typer.Typer(add_completion=False)


@app.command()
def main(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option(help="Output folder (default: the cohort shipped in the package).")] = DEFAULT_OUT,
) -> None:
    """Write the simulated ADReSS-style cohort (simulated, not clinical data)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    speakers = write_cohort(out, seed)
    typer.echo(f"wrote {len(speakers)} speakers to {out}")


if __name__ == "__main__":
    app()
