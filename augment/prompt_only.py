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

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from detect.records import Label, Transcript

from augment.prompts import PROMPT_VERSION, TASK, Style, task_messages

Messages = list[dict[str, str]]


@dataclass
class PromptOnlyConfig:
    shots: int = field(default=3, metadata={"help": "Real examples of the style per prompt."})
    max_example_words: int = field(default=120, metadata={"help": "Each example is cut to this many words (context length)."})
    seed: int = field(default=0, metadata={"help": "Example draw for record i uses seed + i."})

    def __post_init__(self):
        if self.shots < 0:
            raise ValueError(f"shots must be >= 0, got {self.shots}")
        if self.max_example_words <= 0:
            raise ValueError(f"max_example_words must be > 0, got {self.max_example_words}")


class FewShotPrompter:
    """``prompter(i)`` -> chat messages for record ``i``; ``prompter.parents(i)`` -> example ids."""

    def __init__(self, training: Sequence[Transcript], style: Style, config: PromptOnlyConfig | None = None):
        self.config = config or PromptOnlyConfig()
        self.style = style
        label = Label.AD if style == "ad" else Label.HC
        self.pool = sorted((t for t in training if t.label == label and (t.verbatim or t.text).strip()), key=lambda t: t.id)
        if self.config.shots and len(self.pool) < self.config.shots:
            raise ValueError(
                f"prompt-only {style.upper()} needs {self.config.shots} training transcripts of that label, found {len(self.pool)}"
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
            messages += [{"role": "user", "content": final_user["content"] if not messages[1:] else TASK},
                         {"role": "assistant", "content": text}]
        messages.append(final_user)
        return messages

    def config_hash(self) -> str:
        """Identifies the prompt set: template version, shots, seed and the example pool."""
        payload = "|".join([PROMPT_VERSION, str(self.config.shots), str(self.config.max_example_words), str(self.config.seed),
                            *(t.id for t in self.pool)])
        return hashlib.sha256(payload.encode()).hexdigest()[:12]
