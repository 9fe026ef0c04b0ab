"""One speaker's description of the picture: what is said, in which order, in how many words.

:func:`describe` plans and words a description for a :class:`~cohort.speakers.Speaker`:

1. **scan order**: the speaker looks left to right (the children first), right to left (the
   mother first), or, more the more impaired, jumps about; events follow that order, with
   noise that grows with severity;
2. **what is said**: each event is mentioned with a chance that falls with severity and rises
   with the speaker's length, in its common sentence in common words (``plain``, as most
   speakers put the main events), in the speaker's own words, as a list of names (a
   "lister"), or, impaired, as the gist without naming anything;
3. **how much**: the description grows until it reaches the speaker's length, with more
   events, second looks at an event, details, comments, inferences, memories, remarks about
   the picture, and (with severity) empty talk and revisits; one that overshoots first says
   its events in fewer words ("boy taking cookies"), then loses its least salient ones;
4. **utterances**: clauses join with "and", "so", "while" ... at the speaker's own rate (some
   talk in short sentences, some in long chains), open with "well", "okay" ... and carry
   hedges ("I guess") as the speaker's habits say.

Everything goes through one :class:`~cohort.grammar.Voice`, so the speaker's favourite words
come back through the description.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from cohort import lexicon, scene, talk
from cohort.grammar import Speech, Voice, contract
from cohort.speakers import Speaker

GRAMMAR: dict[str, tuple[str, ...]] = {**lexicon.GRAMMAR, **talk.GRAMMAR}
assert not set(lexicon.GRAMMAR) & set(talk.GRAMMAR), "a grammar symbol is defined twice"

# Calibration knobs, with the class profiles of cohort.speakers (cohort/measured.md: what they give).
MENTION = (0.8, 2.8, 0.3)  # logit of mentioning an event: salience + [0] - [1] * severity + [2] * log(length / 80)
VAGUE_CLAUSE = 0.5  # share of an event's vague moments said as a whole vague clause ("he's doing something")
OVERSHOOT = 1.15  # a plan longer than this times the speaker's length is cut down
TERSE = 1.0  # chance that a clause of a plan too long is said in fewer words rather than left for cutting
FRAME_CONVENTION = 0.5  # chance that the common wording of an event (its first frame) is in the running
NEW_EVENT = 0.15  # chance that more talk about the picture is an event not yet mentioned
MAX_JOIN = 6  # clauses in one utterance at most
INSERT_MAX = 0.12  # a speaker slips a small word in before a verb (or at the end) with a chance up to this
DETERMINER_MAX = 0.25  # ... and says "this"/"that"/"a" for "the" with a chance up to this
ADJECTIVE_MAX = 0.3  # a speaker gives a named thing an adjective with a chance up to this
TELEGRAPHIC = 0.3  # an impaired speaker drops "is" with chance TELEGRAPHIC * severity^2
INSERTS: tuple[str, ...] = (
    "just",
    "like",
    "now",
    "all",
    "really",
    "also",
    "still",
    "even",
    "kind of",
    "sort of",
    "actually",
    "then",
    "sure",
    "maybe",
    "almost",
    "probably",
    "already",
    "busy",
    "obviously",
    "apparently",
    "evidently",
    "certainly",
    "definitely",
    "no doubt",
    "simply",
)
END_INSERTS: tuple[str, ...] = (
    "too",
    "there",
    "now",
    "again",
    "right now",
    "here",
    "anyway",
    "I guess",
    "you know",
    "and all",
    "as well",
    "at the moment",
    "over there",
    "I think",
    "I suppose",
    "of course",
    "I see",
    "so to speak",
    "or something",
    "and everything",
    "today",
    "it looks like",
    "sort of",
    "right there",
    "like that",
)
_VERBS = frozenset({"is", "are", "has", "wants", "looks", "seems", "took", "got", "left", "doesn't", "does"})
DETERMINERS: tuple[str, ...] = ("this", "that", "a", "the", "his", "her", "one", "some", "that there")

_AREA_ORDERS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("left", "right", "back"), 0.45),
    (("right", "left", "back"), 0.25),
    (("left", "back", "right"), 0.12),
    (("back", "left", "right"), 0.06),
    (("right", "back", "left"), 0.12),
)


@dataclass
class _Clause:
    pos: float  # speaking-order key
    template: str
    event: str | None = None  # the event it describes, None for other talk
    salience: float = 0.0
    named: bool = False  # things only named, no verb ("the curtains"): a lister may drop the article too
    plain: bool = False  # the event's common sentence in the common words ("the boy is taking cookies ...")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _scan_positions(rng: random.Random, sp: Speaker) -> dict[str, float]:
    """Each event's place in the speaker's scan of the picture (lower: earlier)."""
    orders, weights = zip(*_AREA_ORDERS, strict=True)
    areas = rng.choices(orders, weights=weights)[0]
    noise = 0.5 + 3.0 * sp.severity
    positions = {}
    for ev in scene.EVENTS:
        if ev.area == "all":
            base = rng.choice((-1.0, 3.0, rng.uniform(0, 3)))
        else:
            base = float(areas.index(ev.area))
        # within an area the salient events come first
        positions[ev.name] = base + 0.12 * (4 - ev.salience) + rng.gauss(0, 0.35 * noise)
    return positions


def _plan(rng: random.Random, sp: Speaker, voice: Voice) -> list[_Clause]:
    positions = _scan_positions(rng, sp)
    size = math.log(sp.length / 80)
    plan: list[_Clause] = []
    unsaid = []
    for ev in scene.EVENTS:
        p = _sigmoid(ev.salience + MENTION[0] - MENTION[1] * sp.severity + MENTION[2] * size)
        if rng.random() < p:
            plan.append(_event_clause(rng, sp, voice, ev, positions[ev.name]))
        else:
            unsaid.append(ev)
    # too long for this speaker: first its longest clauses in fewer words ("boy taking
    # cookies"), then the least salient events left out
    plan.sort(key=lambda c: -c.salience)
    for clause in sorted(plan, key=_estimate, reverse=True):
        if sum(_estimate(c) for c in plan) <= OVERSHOOT * sp.length:
            break
        ev = scene.EVENT_BY_NAME[clause.event]
        if ev.terse and rng.random() < TERSE:
            clause.template = voice.pick(f"terse.{ev.name}", ev.terse)
    while len(plan) > 1 and sum(_estimate(c) for c in plan) > OVERSHOOT * sp.length:
        plan.pop()
    _extend(rng, sp, voice, plan, unsaid, positions)
    plan.sort(key=lambda c: c.pos)
    return plan


def _event_clause(rng: random.Random, sp: Speaker, voice: Voice, ev: scene.Event, pos: float) -> _Clause:
    if ev.bare and rng.random() < sp.list_p:
        return _Clause(pos, voice.pick(f"bare.{ev.name}", ev.bare), ev.name, ev.salience, named=True)
    if rng.random() < sp.vague_p * VAGUE_CLAUSE:
        return _Clause(pos, voice.pick("vague_frame", scene.VAGUE_FRAMES), ev.name, ev.salience)
    if rng.random() < sp.plain_p:
        return _Clause(pos, ev.frames[0], ev.name, ev.salience, plain=True)
    template = voice.pick(f"frame.{ev.name}", ev.frames, common=rng.random() < FRAME_CONVENTION)
    if ev.tails and rng.random() < sp.tail_p:
        template = f"{template} {voice.any(ev.tails)}"
    return _Clause(pos, template, ev.name, ev.salience)


def _estimate(clause: _Clause) -> float:
    """Words a template will come to (slots count about two words)."""
    return len(clause.template.split()) + clause.template.count("{")


def _extend(
    rng: random.Random,
    sp: Speaker,
    voice: Voice,
    plan: list[_Clause],
    unsaid: list[scene.Event],
    positions: dict[str, float],
) -> None:
    """Adds talk until the plan reaches the speaker's length."""
    said = [c for c in plan if c.event]
    empty_w = 0.05 + 1.6 * sp.severity**2
    revisit_w = 0.02 + 0.5 * sp.severity**2
    kinds = ("more", "detail", "comment", "digression", "remark", "empty", "revisit")
    weights = (
        (1 - sp.drift_p) * (1.2 - sp.severity),
        (1 - sp.drift_p) * 0.9,
        sp.drift_p * 0.5,
        sp.drift_p * 0.3,
        sp.drift_p * 0.2,
        empty_w,
        revisit_w,
    )
    total = sum(_estimate(c) for c in plan)
    span = max(positions.values()) + 0.5
    used: set[str] = set()
    guard = 0
    while total < sp.length and guard < 200:
        guard += 1
        kind = rng.choices(kinds, weights=weights)[0]
        if kind == "more":
            if unsaid and rng.random() < NEW_EVENT:
                ev = unsaid.pop(rng.randrange(len(unsaid)))
            else:
                ev = scene.EVENT_BY_NAME[(rng.choice(said).event if said else scene.EVENTS[0].name)]
            clause = _event_clause(rng, sp, voice, ev, positions[ev.name] + 0.01)
            if clause.template in {c.template for c in said}:
                clause.template = rng.choice(ev.frames)  # a second look at an event, in other words
            said.append(clause)
        elif kind == "revisit" and said:
            ev = scene.EVENT_BY_NAME[rng.choice(said).event]
            clause = _Clause(rng.uniform(positions[ev.name], span), rng.choice(ev.frames), ev.name, ev.salience)
        elif kind == "detail" and rng.random() < sp.list_p:
            # a lister goes on naming things: "a dish rack. a teapot on the counter."
            clause = _Clause(rng.uniform(-0.5, span), rng.choice(GRAMMAR["listed"]), named=True)
        elif kind in ("empty", "revisit"):
            # empty talk perseverates: the speaker's favourite phrases come back
            clause = _Clause(rng.uniform(-0.5, span), voice.pick("kind.empty", GRAMMAR["empty"]))
        else:
            fresh = [t for t in GRAMMAR[kind] if t not in used] or list(GRAMMAR[kind])
            clause = _Clause(rng.uniform(-0.5, span), rng.choice(fresh))
            used.add(clause.template)
        plan.append(clause)
        total += _estimate(clause)


def _spoken(rng: random.Random, sp: Speaker, voice: Voice, text: str, insert_p: float, det_p: float) -> str:
    """Running speech is not the bank's tidy wording: small words slip in before a verb ("he's *just*
    taking") or at the end ("*too*"), determiners wander ("this stool", "that jar"), and impaired
    speakers drop the auxiliary."""
    out = []
    for i, word in enumerate(text.split()):
        if word == "the" and rng.random() < det_p:
            word = voice.pick("determiner", DETERMINERS, common=False)
        if word in ("is", "are") and i > 0 and rng.random() < TELEGRAPHIC * sp.severity**2:
            continue
        if i > 0 and (word.endswith("ing") or word in _VERBS) and rng.random() < insert_p:
            out.extend(voice.pick("insert", INSERTS, common=False).split())
        out.append(word)
    if rng.random() < insert_p:
        out.extend(voice.pick("end_insert", END_INSERTS, common=False).split())
    return " ".join(out)


def describe(rng: random.Random, sp: Speaker) -> list[list[str]]:
    """The speaker's utterances, each a list of clean words (no disfluencies), in speaking order."""
    voice = Voice(rng, sp.loyalty, sp.convention)
    speech = Speech(
        voice,
        GRAMMAR,
        lexicon.REFERENTS,
        sp.pronoun_p,
        sp.vague_p,
        free=lexicon.FREE | talk.FREE,
        habits=talk.HABITS | {"present"},
        adjective_p=voice.habit("adjective", 0.0, ADJECTIVE_MAX * sp.variation),
    )
    contract_rate = voice.habit("contract", 0.3, 0.95)
    opener_p = voice.habit("opener", 0.0, 0.35)
    hedge_front = voice.habit("hedge_front", 0.3, 0.9)
    insert_p = voice.habit("insert", 0.0, INSERT_MAX * sp.variation)
    det_p = voice.habit("determiner", 0.0, DETERMINER_MAX * sp.variation)
    clauses = []
    for item in _plan(rng, sp, voice):
        text = speech.say(item.template, plain=item.plain)
        if item.plain:
            clauses.append(text)  # said as everyone says it
            continue
        if item.named:
            # a lister's list: "stool. cookie jar. curtains."
            text = " ".join(w for w in text.split() if w not in ("the", "a") or rng.random() > sp.list_p)
        else:
            text = _spoken(rng, sp, voice, text, insert_p, det_p)
        if rng.random() < sp.hedge_p and not item.named:
            hedge = speech.say("{hedge}")
            text = f"{hedge} {text}" if rng.random() < hedge_front else f"{text} {hedge}"
        clauses.append(contract(rng, text, contract_rate))
    if rng.random() < voice.habit("closes", 0.2, 0.8):
        clauses.append(speech.say("{closing}"))
    utterances: list[list[str]] = []
    joined = 0
    for text in clauses:
        if utterances and joined < MAX_JOIN and rng.random() < sp.join_p:
            utterances[-1].extend(speech.say("{joiner}").split() + text.split())
            joined += 1
            continue
        if rng.random() < opener_p:
            text = f"{speech.say('{opener}')} {text}"
        utterances.append(text.split())
        joined = 1
    return utterances
