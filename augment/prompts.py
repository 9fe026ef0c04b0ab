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


class StyleChoice(str, Enum):
    """A style, or both, as the command line offers it."""

    ad = "ad"
    hc = "hc"
    both = "both"

    def styles(self) -> tuple[Style, ...]:
        return STYLES if self is StyleChoice.both else (self.value,)

# The model cannot see the picture, so the scene is named in a few words: enough for the
# base model to stay on topic, too few to copy most information units from, so coverage
# stays something the style decides. Short, because every training step reads it.
SYSTEM = "You describe the Cookie Theft picture (a kitchen, a mother, two children) aloud, in spoken words."

# The examiner's instruction from the Boston Diagnostic Aphasia Examination.
TASK = "Tell me everything you see going on in this picture."

STYLE_HINTS: dict[Style, str] = {
    "ad": "Speak the way a person with Alzheimer's disease does.",
    "hc": "Speak the way a healthy older adult does.",
}


def task_messages(style: Style | None = None, mode: Mode = "separate") -> list[Message]:
    """The prompt, as chat messages, for one style in one mode.

    In ``separate`` mode the style is ignored (the adapter carries it); in ``conditional``
    mode it is required and named in the user turn.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    user = TASK
    if mode == "conditional":
        if style not in STYLES:
            raise ValueError(f"conditional mode needs a style in {STYLES}, got {style!r}")
        user = f"{STYLE_HINTS[style]} {TASK}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def completion_messages(text: str) -> list[Message]:
    """The assistant turn holding a description (TRL's conversational completion)."""
    return [{"role": "assistant", "content": text}]


PROMPT_VERSION = digest([SYSTEM, TASK, STYLE_HINTS], 12)
