"""Every prompt the generators see, in one place, and how it is rendered.

Two modes:

* ``separate``: one adapter per style; both styles share the same task prompt, so the
  style lives only in the adapter's weights.
* ``conditional``: one adapter for both styles; the style is named in the prompt.

The prompt-only baseline reuses the ``conditional`` prompt on the bare base model.

Prompts are chat messages (``[{"role": ..., "content": ...}]``), TRL's conversational
format, which trainers and the OpenAI-compatible chat endpoint render with the model's
own chat template. :data:`PROMPT_VERSION` is part of every adapter's config hash, so
editing a template here invalidates cached adapters.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Literal, get_args

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from detect.hashing import digest
from detect.records import Label, Transcript
from detect.verbatim import DASH, RETRACE_MARK, hold_pauses, release_pauses, without_marks

Style = Literal["ad", "hc"]
Mode = Literal["separate", "conditional"]
STYLES: tuple[Style, ...] = get_args(Style)
MODES: tuple[Mode, ...] = get_args(Mode)
Message = dict[str, str]
# A style writes like one class of speaker; synthetic text in that style is labelled so.
STYLE_LABEL: dict[Style, Label] = {"ad": Label.AD, "hc": Label.HC}
LABEL_STYLE: dict[Label, Style] = {label: style for style, label in STYLE_LABEL.items()}


# In ``conditional`` mode one adapter writes every style; it is trained, cached and served as this unit.
CONDITIONAL_UNIT = "cond"


def adapter_unit(style: Style, mode: Mode) -> str:
    """The adapter (unit) that writes ``style`` in ``mode``: ``cond`` for every style in
    ``conditional`` mode, the style's own adapter in ``separate`` mode."""
    return CONDITIONAL_UNIT if mode == "conditional" else style


def unit_mode(unit: str) -> Mode:
    """The mode an adapter unit was trained in, told by its name (see :func:`adapter_unit`)."""
    return "conditional" if unit == CONDITIONAL_UNIT else "separate"


class StyleChoice(str, Enum):
    """A style, or both, as the command line offers it."""

    ad = "ad"
    hc = "hc"
    both = "both"

    def styles(self) -> tuple[Style, ...]:
        return STYLES if self is StyleChoice.both else (self.value,)


SYSTEM = "You describe the Cookie Theft picture aloud, in spoken words, as if you were looking at it."

# The model cannot see the picture, so it gets the picture as a person looking at it would:
# every information unit (detect.info_units), in prose. A healthy speaker names most of what
# is in it; the style decides what is left out, how it is said and what goes wrong. Without
# it, a 135M model guesses the scene and most of its zero-shot descriptions fail the on-topic
# filter; with a prose scene in the user turn most pass (bench-results/README.md, B16). In the
# user turn, not the system prompt: small models
# follow the last user turn most closely. Short, because every training step reads it.
SCENE = (
    "In the picture: a kitchen. A boy on a stool that is tipping over takes cookies from the cookie "
    "jar in the cupboard and hands one to his sister, who reaches up for it, a finger to her lips. "
    "At the sink their mother dries a dish with a towel; the faucet is running and the water "
    "overflows onto the floor, but she does not notice. Cups and a plate are on the counter. "
    "Through the window with its curtains you see the garden outside, a path and a lawn."
)

# The same units as terse keywords, no prose: nothing a description could lift as a phrase (the prose
# above gave synthetic text "a finger to his lips" and "overflowing onto the floor"). Shown in a new
# order for every record (PromptDesign.scene "keywords"), as a speaker's eye may start anywhere.
SCENE_KEYWORDS: tuple[str, ...] = (
    "kitchen",
    "boy",
    "tipping stool",
    "cookie jar",
    "cupboard",
    "girl reaching",
    "shh",
    "mother",
    "sink",
    "drying dishes",
    "towel",
    "faucet on",
    "water spilling",
    "floor",
    "not noticing",
    "cups",
    "plate",
    "counter",
    "window",
    "curtains",
    "garden outside",
)

# The examiner's instruction from the Boston Diagnostic Aphasia Examination.
TASK = "Tell me everything you see going on in this picture."
# How examiners in the corpus's recordings ask for it (PromptDesign.instruction "varied"): the BDAE's
# words first, then the variants heard when a session is transcribed.
INSTRUCTIONS: tuple[str, ...] = (
    TASK,
    "Tell me all of the action you see going on in that picture.",
    "What's happening in the picture?",
    "Tell me everything that's going on in there.",
    "Just tell me what you see happening.",
    "Look at the picture and tell me everything you see going on.",
    "What do you see going on in this picture?",
    "Tell me about all the things that are happening in the picture.",
)

STYLE_HINTS: dict[Style, str] = {
    "ad": "Speak the way a person with Alzheimer's disease does.",
    "hc": "Speak the way a healthy older adult does.",
}


def instruction(style: Style | None = None, mode: Mode = "separate") -> str:
    """The examiner's words, with the style named in ``conditional`` mode (no scene)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "separate":
        return TASK
    if style not in STYLES:
        raise ValueError(f"conditional mode needs a style in {STYLES}, got {style!r}")
    return f"{STYLE_HINTS[style]} {TASK}"


Instruction = Literal["fixed", "varied"]
SceneForm = Literal["prose", "keywords"]


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class PromptDesign:
    """How the prompt varies from record to record; the defaults are the one fixed prompt.

    A generator is trained and asked with the same design: SFT rows and preference pairs draw
    their variation per transcript, generation per record (:meth:`messages`' ``key``).
    """

    instruction: Instruction = Field(
        default="fixed",
        description="fixed: the BDAE's instruction; varied: one of the examiners' wordings "
        "(INSTRUCTIONS), drawn per record.",
    )
    scene: SceneForm = Field(
        default="prose",
        description="prose: SCENE; keywords: the information units as terse keywords "
        "(SCENE_KEYWORDS) in a new order per record, no phrase to lift.",
    )
    length: bool = Field(
        default=False,
        description="Ask for a length in words: in training the transcript's own, in generation one "
        "drawn per record from the style's real training transcripts.",
    )

    def is_fixed(self) -> bool:
        return self == PromptDesign()

    def user_turn(self, style: Style | None, mode: Mode, *, key: object = 0, words: int | None = None) -> str:
        """The scene, then the examiner's words (and the length asked for), for the record ``key``."""
        rng = random.Random(digest(["prompt", key], 16))
        if self.scene == "keywords":
            items = list(SCENE_KEYWORDS)
            rng.shuffle(items)
            scene = "In the picture: " + ", ".join(items) + "."
        else:
            scene = SCENE
        task = rng.choice(INSTRUCTIONS) if self.instruction == "varied" else TASK
        said = instruction(style, mode).replace(TASK, task)
        if self.length and words:
            said += f" Say about {round_words(words)} words."
        return f"{scene}\n\n{said}"


def round_words(words: int) -> int:
    """A length as a person would ask for it: to the nearest 10 words, at least 10."""
    return max(10, round(words / 10.0) * 10)


def task_messages(
    style: Style | None = None,
    mode: Mode = "separate",
    design: PromptDesign | None = None,
    *,
    key: object = 0,
    words: int | None = None,
) -> list[Message]:
    """The prompt, as chat messages, for one style in one mode: the scene, then the instruction.

    In ``separate`` mode the style is ignored (the adapter carries it); in ``conditional``
    mode it is required and named in the user turn. ``design`` (default: the fixed prompt)
    varies it with ``key`` (a transcript's id, a record's index); ``words``: the length asked
    for when the design asks for one.
    """
    design = design or PromptDesign()
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": design.user_turn(style, mode, key=key, words=words)},
    ]


def spoken_words(text: str) -> int:
    """A description's length as a generator writes it: words said, fillers and repeats included,
    the marks of pauses and corrections not."""
    return len(without_marks(text).split())


def real_lengths(transcripts: Iterable[Transcript], style: Style) -> tuple[int, ...]:
    """The lengths in words (:func:`spoken_words`) of the real transcripts of ``style``, sorted: what a
    record's length is drawn from (:func:`draw_length`). Pass training transcripts only."""
    return tuple(
        sorted(
            spoken_words(t.verbatim or t.text)
            for t in transcripts
            if t.label == STYLE_LABEL[style] and (t.verbatim or t.text).strip()
        )
    )


def draw_length(lengths: Sequence[int], key: object) -> int | None:
    """A length in words drawn for the record ``key`` from real transcripts' ``lengths`` (None: none given)."""
    return random.Random(digest(["length", key], 16)).choice(list(lengths)) if lengths else None


def completion_messages(text: str) -> list[Message]:
    """The assistant turn holding a description (TRL's conversational completion)."""
    return [{"role": "assistant", "content": text}]


# -- the spoken register ------------------------------------------------------------------------

_DROPPED = re.compile(r"[,;:\"“”‘’()\[\]*_]")
_BEFORE_END = re.compile(r" +(?=[.?!])")  # where a dropped quote stood: 'cookies" ...'
_I_FORMS = re.compile(r"\bi(?=\b|'(?:m|ve|d|ll)\b)")


def spoken(text: str) -> str:
    """Text as the corpus renders speech (:func:`detect.chat.verbatim_text`): lower case but for I,
    no commas, colons, quotes or brackets (CHAT writes none: separators are codes), one space
    between words, '...' for a trailing off, and the marks of :mod:`detect.verbatim` kept: a
    pause ``(.)``, a dash between words as the correction mark ``—``; the terminators . ? ! stay.

    >>> spoken("The Boy, on a stool (.) he: shh! And I'm... well -- the girl")
    "the boy on a stool (.) he shh! and I'm... well — the girl"
    """
    text = hold_pauses(text.replace("…", "..."))
    text = release_pauses(_DROPPED.sub(" ", DASH.sub(f" {RETRACE_MARK} ", text)).lower())
    return _BEFORE_END.sub("", " ".join(_I_FORMS.sub("I", text).split()))


PROMPT_VERSION = digest([SYSTEM, SCENE, TASK, STYLE_HINTS, SCENE_KEYWORDS, INSTRUCTIONS], 12)
