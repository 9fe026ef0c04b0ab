"""The synthetic-description record and its JSONL file.

Every generator (LoRA adapters through vLLM, prompt-only, classic EDA-style
augmentation) writes the same :class:`SyntheticDescription`, so the filters and the
benchmark never need to know which one produced a line.

The file is append-only JSONL: each record is written with a single ``os.write`` on a
descriptor opened with ``O_APPEND`` and fsynced, so a crash or Ctrl-C leaves at most one
torn last line, which :func:`read_records` drops (and :func:`detect.io.repair` truncates) on resume
(the mechanics are :mod:`detect.io`'s, shared by every JSONL file of the project).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from augment.prompts import STYLE_LABEL, Style
from detect.hashing import digest
from detect.io import JsonlAppender, read_models, write_jsonl
from detect.records import Source, Transcript

logger = logging.getLogger(__name__)


class GeneratorInfo(BaseModel):
    """What produced the text: enough to reproduce it and to group results by generator."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="'lora', 'merged', 'prompt-only' or 'classic'.")
    base_model: str | None = None
    adapter: str | None = None  # served model name or adapter path
    config_hash: str | None = None  # hash of the training config / adapter, when known
    method: str | None = None  # e.g. classic op name ("swap", "disfluency") or "few-shot"
    # The training stage that wrote the adapter ('sft', 'dpo', from its metadata); None for the base
    # model, classic edits, an endpoint's model, and records written before it was recorded.
    stage: str | None = None

    def tag(self) -> str:
        """Short generator tag for :class:`detect.records.Source` (e.g. ``lora:ad@1a2b``)."""
        name = self.adapter or self.method or "base"
        return f"{self.kind}:{name}" + (f"@{self.config_hash[:8]}" if self.config_hash else "")


class SamplingInfo(BaseModel):
    """Sampling parameters as sent with the request (recorded per record)."""

    model_config = ConfigDict(frozen=True)

    seed: int
    temperature: float = 0.9
    top_p: float = 0.95
    min_p: float = 0.0  # records written before min-p was the default carry none
    frequency_penalty: float = 0.0  # nor, before it was, a frequency penalty
    max_tokens: int = 160
    min_tokens: int = 0  # nor, before it could be set, a floor on length
    ignore_eos: bool = False  # benchmarks of speed: every record exactly max_tokens long
    spoken: bool = False  # rendered as the corpus renders speech (augment.prompts.spoken)
    filler_bias: float = 0.0  # logit bias on the filler words
    length_spread: float = 0.0  # min/max tokens scaled toward a real length drawn for the record


class Verdict(BaseModel):
    """One filter's decision on one record; ``detail`` says why, for the report."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    detail: str = ""
    score: float | None = None


class SyntheticDescription(BaseModel):
    """One synthetic Cookie Theft description, in verbatim form (fillers, '...')."""

    id: str
    style: Style
    text: str = Field(description="Verbatim rendering: fillers as uh/um, '...' for trailing off.")
    generator: GeneratorInfo
    sampling: SamplingInfo | None = None  # None for classic augmentation (no sampling)
    prompt_hash: str | None = None
    parent_ids: tuple[str, ...] = ()  # real transcripts it was derived from or prompted with
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    markers: dict[str, float] = Field(default_factory=dict)
    finish_reason: str | None = None
    completion_tokens: int | None = None

    @property
    def passed(self) -> bool:
        """True when every recorded verdict passed (a record with no verdicts passes)."""
        return all(v.passed for v in self.verdicts.values())

    def to_transcript(self, *, condition: str | None = None) -> Transcript:
        """A synthetic training :class:`Transcript` (clean text + disfluency counts)."""
        from detect.chat import clean_verbatim  # lead's module; imported late so records load without it

        clean, disfluencies = clean_verbatim(self.text)
        return Transcript(
            id=self.id,
            speaker_id=f"synth-{self.id}",  # each synthetic text is its own "speaker": never split across folds
            label=STYLE_LABEL[self.style],
            text=clean,
            verbatim=self.text,
            disfluencies=disfluencies,
            split="train",  # synthetic text only ever enters training sets
            source=Source(
                kind="synthetic",
                generator=self.generator.tag(),
                condition=condition,
                parent_ids=self.parent_ids,
            ),
        )


def prompt_hash(prompt: Any) -> str:
    return digest(prompt, 16)


# -- JSONL ------------------------------------------------------------------------

_FIX = "fix or delete that line and rerun"


def read_records(path: str | Path) -> list[SyntheticDescription]:
    """Records of a JSONL file (none if it does not exist yet); a torn last line (interrupted
    write) is skipped with a warning, a bad line anywhere else raises a one-line
    :class:`~detect.errors.CorpusError` naming the file and line."""
    return read_models(
        path, SyntheticDescription, what="synthetic-description record", fix=_FIX, missing_ok=True, torn_tail_ok=True
    )


class RecordWriter(JsonlAppender):
    """Append-only record file (:class:`detect.io.JsonlAppender`): one write + fsync per record."""

    def write(self, record: SyntheticDescription) -> None:
        self.write_line(record.model_dump_json())


def write_records(path: str | Path, records: Iterable[SyntheticDescription]) -> Path:
    """Write a whole file atomically (temp file + rename), e.g. after filtering."""
    return write_jsonl(path, (r.model_dump_json() for r in records))
