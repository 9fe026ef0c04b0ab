"""Prompt-only baseline: the bare base model, a style instruction and a few real examples.

Record ``i`` is prompted with the ``conditional`` task prompt of :mod:`augment.prompts`
(which names the style) preceded by ``shots`` example turns: the examiner's instruction,
then a real training transcript of that style as the answer. The examples are drawn with
seed ``seed + i`` from the *training* transcripts only, and recorded as ``parent_ids`` so
the privacy filter and the report know which real speech the model saw.

It runs the same way as the adapters (:mod:`augment.runner`: the base model, ``base``) and
goes through the same :func:`augment.generate.run_generation` and filters.

Run::

    cookiebench augment generate --prompt-only --style ad --n 200 --out po-ad.jsonl
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from augment.prompts import (
    INSTRUCTIONS,
    PROMPT_VERSION,
    STYLE_LABEL,
    TASK,
    PromptDesign,
    Style,
    draw_length,
    instruction,
    spoken_words,
    task_messages,
)
from detect.hashing import digest
from detect.records import Transcript

Messages = list[dict[str, str]]


@dataclass(config=ConfigDict(extra="forbid"))
class PromptOnlyConfig:
    shots: int = Field(default=3, ge=0, description="Real examples of the style per prompt.")
    max_example_words: int = Field(
        default=120, gt=0, description="Each example is cut to this many words (context length)."
    )
    seed: int = Field(default=0, description="Example draw for record i uses seed + i.")
    # The prompt's design (augment.prompts.PromptDesign), drawn per record as for trained generators.
    instruction: Literal["fixed", "varied"] = Field(
        default=PromptDesign.instruction,
        description="fixed: the BDAE's instruction; varied: one of the examiners' wordings per turn.",
    )
    scene: Literal["prose", "keywords"] = Field(
        default=PromptDesign.scene,
        description="prose: SCENE; keywords: the information units as terse keywords, shuffled per record.",
    )
    length: bool = Field(
        default=PromptDesign.length,
        description="Ask for a length in words, drawn per record from the style's real training transcripts.",
    )

    def design(self) -> PromptDesign:
        return PromptDesign(instruction=self.instruction, scene=self.scene, length=self.length)


class FewShotPrompter:
    """``prompter(i)`` -> chat messages for record ``i``; ``prompter.parents(i)`` -> example ids."""

    def __init__(self, training: Sequence[Transcript], style: Style, config: PromptOnlyConfig | None = None):
        self.config = config or PromptOnlyConfig()
        self.style = style
        self.pool = sorted(
            (t for t in training if t.label == STYLE_LABEL[style] and (t.verbatim or t.text).strip()),
            key=lambda t: t.id,
        )
        if self.config.shots and len(self.pool) < self.config.shots:
            raise ValueError(
                f"prompt-only {style.upper()} needs {self.config.shots} training transcripts of that label,"
                f" found {len(self.pool)}"
            )

    def _draw(self, index: int) -> list[Transcript]:
        return random.Random(self.config.seed + index).sample(self.pool, self.config.shots)

    def parents(self, index: int) -> tuple[str, ...]:
        return tuple(t.id for t in self._draw(index))

    def __call__(self, index: int) -> Messages:
        design = self.config.design()
        lengths = [spoken_words(t.verbatim or t.text) for t in self.pool] if design.length else ()
        key = [self.style, self.config.seed, index]
        system, final_user = task_messages(self.style, "conditional", design, key=key, words=draw_length(lengths, key))
        messages: Messages = [system]
        for k, example in enumerate(self._draw(index)):
            text = " ".join((example.verbatim or example.text).split()[: self.config.max_example_words])
            # The scene only in the last user turn: the one a small model follows most closely.
            task = (
                random.Random(f"{self.config.seed}/{index}/{k}").choice(INSTRUCTIONS)
                if design.instruction == "varied"
                else TASK
            )
            said = task if messages[1:] else instruction(self.style, "conditional").replace(TASK, task)
            messages += [{"role": "user", "content": said}, {"role": "assistant", "content": text}]
        messages.append(final_user)
        return messages

    def config_hash(self) -> str:
        """Identifies the prompt set: template version, shots, seed, design and the example pool."""
        design = [] if self.config.design().is_fixed() else [repr(self.config.design())]
        return digest(
            "|".join(
                [
                    PROMPT_VERSION,
                    str(self.config.shots),
                    str(self.config.max_example_words),
                    str(self.config.seed),
                    *design,
                    *(t.id for t in self.pool),
                ]
            ),
            12,
        )
