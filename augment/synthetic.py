"""The synthetic-description record and its JSONL file.

Every generator (LoRA adapters through vLLM, prompt-only, classic EDA-style
augmentation) writes the same :class:`SyntheticDescription`, so the filters and the
benchmark never need to know which one produced a line.

The file is append-only JSONL: each record is written with a single ``os.write`` on a
descriptor opened with ``O_APPEND`` and fsynced, so a crash or Ctrl-C leaves at most one
torn last line, which :func:`read_records` drops (and :func:`repair` truncates) on resume.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from detect.records import Label, Source, Transcript

logger = logging.getLogger(__name__)

Style = Literal["ad", "hc"]


class GeneratorInfo(BaseModel):
    """What produced the text: enough to reproduce it and to group results by generator."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="'lora', 'merged', 'prompt-only' or 'classic'.")
    base_model: str | None = None
    adapter: str | None = None  # served model name or adapter path
    config_hash: str | None = None  # hash of the training config / adapter, when known
    method: str | None = None  # e.g. classic op name ("swap", "disfluency") or "few-shot"

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
    max_tokens: int = 160
    ignore_eos: bool = False  # benchmarks of speed: every record exactly max_tokens long


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

    def with_verdict(self, name: str, verdict: Verdict) -> SyntheticDescription:
        return self.model_copy(update={"verdicts": {**self.verdicts, name: verdict}})

    def to_transcript(self, *, condition: str | None = None) -> Transcript:
        """A synthetic training :class:`Transcript` (clean text + disfluency counts)."""
        from detect.chat import clean_verbatim  # lead's module; imported late so records load without it

        clean, disfluencies = clean_verbatim(self.text)
        return Transcript(
            id=self.id,
            speaker_id=f"synth-{self.id}",  # each synthetic text is its own "speaker": never split across folds
            label=Label.AD if self.style == "ad" else Label.HC,
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
    return hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:16]


# -- JSONL ------------------------------------------------------------------------


def read_records(path: str | Path) -> list[SyntheticDescription]:
    """Records of a JSONL file; a torn last line (interrupted write) is skipped with a warning.

    A malformed line anywhere else is a real corruption and raises ``ValueError`` naming
    the file and line.
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    out: list[SyntheticDescription] = []
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.append(SyntheticDescription.model_validate_json(raw))
        except ValueError as exc:
            if i == len(lines):  # no newline after it: the write was cut short
                logger.warning("%s:%d: dropping a torn last line (interrupted write)", path, i)
                continue
            raise ValueError(f"{path}:{i}: not a synthetic-description record ({exc.__class__.__name__}); "
                             "fix or delete that line and rerun") from None
    return out


def repair(path: str | Path) -> int:
    """Truncate a torn last line so appends start on a fresh line; returns bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    logger.warning("%s: removed %d bytes of a torn last line", path, len(data) - keep)
    return len(data) - keep


class RecordWriter:
    """Append-only JSONL writer: one ``os.write`` + fsync per record, so lines never interleave."""

    def __init__(self, path: str | Path, *, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync = fsync

    def write(self, record: SyntheticDescription) -> None:
        line = (record.model_dump_json() + "\n").encode()
        written = os.write(self._fd, line)
        assert written == len(line), f"short write to {self.path}: {written}/{len(line)} bytes"
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_records(path: str | Path, records: Iterable[SyntheticDescription]) -> Path:
    """Write a whole file atomically (temp file + rename), e.g. after filtering."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(r.model_dump_json() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
