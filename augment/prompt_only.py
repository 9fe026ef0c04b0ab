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

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from detect.hashing import digest
from detect.records import Transcript

from augment.prompts import PROMPT_VERSION, STYLE_LABEL, TASK, Style, instruction, task_messages

Messages = list[dict[str, str]]


@dataclass(config=ConfigDict(extra="forbid"))
class PromptOnlyConfig:
    shots: int = Field(default=3, ge=0, description="Real examples of the style per prompt.")
    max_example_words: int = Field(default=120, gt=0, description="Each example is cut to this many words (context length).")
    seed: int = Field(default=0, description="Example draw for record i uses seed + i.")


class FewShotPrompter:
    """``prompter(i)`` -> chat messages for record ``i``; ``prompter.parents(i)`` -> example ids."""

    def __init__(self, training: Sequence[Transcript], style: Style, config: PromptOnlyConfig | None = None):
        self.config = config or PromptOnlyConfig()
        self.style = style
        self.pool = sorted((t for t in training if t.label == STYLE_LABEL[style] and (t.verbatim or t.text).strip()), key=lambda t: t.id)
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
        system, final_user = task_messages(self.style, "conditional")
        messages: Messages = [system]
        for example in self._draw(index):
            text = " ".join((example.verbatim or example.text).split()[: self.config.max_example_words])
            # The scene only in the last user turn: the one a small model follows most closely.
            messages += [{"role": "user", "content": TASK if messages[1:] else instruction(self.style, "conditional")},
                         {"role": "assistant", "content": text}]
        messages.append(final_user)
        return messages

    def config_hash(self) -> str:
        """Identifies the prompt set: template version, shots, seed and the example pool."""
        return digest("|".join([PROMPT_VERSION, str(self.config.shots), str(self.config.max_example_words),
                                str(self.config.seed), *(t.id for t in self.pool)]), 12)
