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

from enum import Enum
from typing import Literal, get_args

from detect.hashing import digest
from detect.records import Label

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

# The examiner's instruction from the Boston Diagnostic Aphasia Examination.
TASK = "Tell me everything you see going on in this picture."

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


def task_messages(style: Style | None = None, mode: Mode = "separate") -> list[Message]:
    """The prompt, as chat messages, for one style in one mode: the scene, then the instruction.

    In ``separate`` mode the style is ignored (the adapter carries it); in ``conditional``
    mode it is required and named in the user turn.
    """
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"{SCENE}\n\n{instruction(style, mode)}"}]


def completion_messages(text: str) -> list[Message]:
    """The assistant turn holding a description (TRL's conversational completion)."""
    return [{"role": "assistant", "content": text}]


PROMPT_VERSION = digest([SYSTEM, SCENE, TASK, STYLE_HINTS], 12)
