"""The records of a pairs file and its summary: one :class:`PreferencePair` per JSONL line, and
``<name>.summary.json`` beside it (:func:`write_pairs`); SFT samples read back (:func:`read_samples`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from augment.pair_config import PairConfig, Strategy
from augment.prompts import PROMPT_VERSION, STYLE_LABEL, STYLES, Mode, Style
from augment.style_axis import STYLE_MARKERS, StyleAxis
from detect.errors import CorpusError
from detect.io import read_jsonl, write_atomic, write_jsonl
from detect.records import Transcript


class MarkerDeltas(BaseModel):
    """Chosen minus rejected, per margin marker (raw units: coverage fraction, words, ratio, rate)."""

    model_config = ConfigDict(frozen=True)

    iu_coverage: float
    words: float
    pronoun_ratio: float
    disfluency_rate: float
    loop_share: float | None = Field(
        default=None, description="Share of repeated word 3-grams (None: a file from before it was recorded)."
    )


class PreferencePair(BaseModel):
    """One DPO example: a prompt, the preferred and the dispreferred description, and why."""

    model_config = ConfigDict(frozen=True)

    id: str
    style: Style = Field(description="The style the pair teaches: chosen is closer to it.")
    mode: Mode
    strategy: Strategy
    prompt: list[dict[str, str]] = Field(description="Chat messages (system, user).")
    chosen: str = Field(description="Verbatim text.")
    rejected: str = Field(description="Verbatim text.")
    chosen_source: str = Field(description="Transcript id, 'degraded:<id>' or 'sample:<n>'.")
    rejected_source: str
    deltas: MarkerDeltas
    margin: float = Field(
        description="Style-axis distance, chosen minus rejected, toward the target style; "
        "for margin_kind 'filter', the gain in the failed filter's score; for 'disfluency', "
        "the gain in disfluencies per word."
    )
    margin_kind: Literal["style_axis", "filter", "disfluency"] = "style_axis"


class PairsSummary(BaseModel):
    """What a pairs file holds and what was left out, for logs and MLflow."""

    pairs: int
    by_style_strategy: dict[str, int]
    dropped_margin: dict[str, int]
    dropped_duplicates: int
    mean_margin: dict[str, float]
    dropped_filter: dict[str, int] = Field(
        default_factory=dict, description="Broken pairs whose filters did not come out as intended."
    )
    margin_kind: dict[str, str] = Field(default_factory=dict, description="What each group's margin measures.")
    mean_deltas: dict[str, dict[str, float]]
    transcripts: dict[str, int]
    data_digest: str
    config: dict[str, Any]
    axis: dict[str, dict[str, float]]
    prompt_version: str = PROMPT_VERSION


def summarize(
    pairs: Sequence[PreferencePair],
    *,
    dropped_margin: Mapping[str, int] | None = None,
    dropped_duplicates: int = 0,
    transcripts: Sequence[Transcript] = (),
    config: PairConfig | None = None,
    axis: StyleAxis | None = None,
    dropped_filter: Mapping[str, int] | None = None,
) -> PairsSummary:
    groups: dict[str, list[PreferencePair]] = {}
    for p in pairs:
        groups.setdefault(f"{p.style}/{p.strategy}", []).append(p)
    from detect.records import Corpus

    return PairsSummary(
        pairs=len(pairs),
        by_style_strategy={k: len(v) for k, v in sorted(groups.items())},
        dropped_margin=dict(sorted((dropped_margin or {}).items())),
        dropped_duplicates=dropped_duplicates,
        mean_margin={k: round(sum(p.margin for p in v) / len(v), 4) for k, v in sorted(groups.items())},
        dropped_filter=dict(sorted((dropped_filter or {}).items())),
        margin_kind={k: "+".join(sorted({p.margin_kind for p in v})) for k, v in sorted(groups.items())},
        mean_deltas={k: _mean_deltas(v) for k, v in sorted(groups.items())},
        transcripts={s: sum(1 for t in transcripts if t.label == STYLE_LABEL[s]) for s in STYLES},
        data_digest=Corpus(transcripts).digest() if transcripts else "",
        config=json.loads(json.dumps(asdict(config))) if config else {},  # tuples -> lists, as read back
        axis={"weights": axis.weights(), "mean_ad": axis.mean_ad, "mean_hc": axis.mean_hc} if axis else {},
    )


def _mean_deltas(pairs: Sequence[PreferencePair]) -> dict[str, float]:
    out = {m: round(sum(getattr(p.deltas, m) for p in pairs) / len(pairs), 4) for m in STYLE_MARKERS}
    loops = [p.deltas.loop_share for p in pairs if p.deltas.loop_share is not None]
    if loops:
        out["loop_share"] = round(sum(loops) / len(loops), 4)
    return out


def summary_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".summary.json")


def write_pairs(path: str | Path, pairs: Iterable[PreferencePair], summary: PairsSummary | None = None) -> Path:
    """Writes pairs as JSONL (atomically: a temp file renamed into place) and the summary beside it."""
    pairs = list(pairs)
    write_jsonl(path, (p.model_dump_json() for p in pairs))
    summary = summary or summarize(pairs)
    write_atomic(summary_path(path), summary.model_dump_json(indent=2) + "\n")
    return Path(path)


def read_samples(path: str | Path, *, stage: str | None = "sft") -> dict[str, list[str]]:
    """Style -> texts from a samples JSONL (``{"style": "ad", "text": ...}`` per line, as training writes).

    Lines with a ``stage`` other than ``stage`` are skipped (``None`` keeps all).
    """
    fix = 'each line needs {"style": "ad"|"hc", "text": "..."}'
    out: dict[str, list[str]] = {}
    for number, data in read_jsonl(path, fix=fix):
        if not isinstance(data, dict) or data.get("style") not in STYLES or not isinstance(data.get("text"), str):
            raise CorpusError(path, "not a sample record", line=number, fix=fix)
        if stage is not None and data.get("stage", stage) != stage:
            continue
        out.setdefault(data["style"], []).append(data["text"])
    return out
