"""What a corpus looks like in numbers, beside a reference: marker means and SDs per class, diversity ranges.

The figures are those of ``real-speech-statistics.md`` (the project's description of real
Pitt speech): for each class, the mean and SD of :data:`STATS_MARKERS` (:mod:`detect.markers`),
and the range of distinct-2 and self-similarity over random subsets of 20 and 40 transcripts
(:mod:`detect.diversity`). :class:`CorpusStats` is both what :func:`measure` returns and the
reference file's format, so the statistics of any corpus can be the reference of another::

    cookiebench corpus stats MYCORPUS --json > mine.json
    cookiebench corpus stats --reference mine.json          # the simulated cohort against it

:func:`compare` says whether each figure is within :data:`BOUNDS` of the reference: a mean
within 10% of the reference mean, an SD within 20% of the reference SD, a diversity range
inside the reference range. A reference figure given to ``decimals`` places stands for every
value that rounds to it, so each bound is widened by half a unit of its last place (it matters
only for near-zero rates, e.g. a trailing-off rate of 0.001).

The shipped reference (:func:`shipped_reference`) holds the real Pitt figures: summary
statistics only, no text.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from detect.diversity import REAL_SAMPLES, distinct_n, real_range, self_similarity
from detect.errors import CorpusError, one_line
from detect.markers import MARKERS
from detect.records import Label, Transcript

log = logging.getLogger(__name__)

# The markers the real reference reports: all but the two it has no figures for.
STATS_MARKERS: tuple[str, ...] = tuple(m for m in MARKERS if m not in ("iu_count", "unintelligible_rate"))
SUBSET_SIZES: tuple[int, ...] = (20, 40)  # transcripts per random subset behind each diversity range
CLASSES: tuple[str, ...] = (Label.AD.value, Label.HC.value)
MEASURED_DECIMALS = 4  # places a measured figure is written with
DIVERSITY_SEED = 0  # the subsets (and self-similarity's pairs) of every measured range


class Bounds(BaseModel):
    """How close to the reference a figure must be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float = 0.10  # relative to the reference mean
    sd: float = 0.20  # relative to the reference SD


BOUNDS = Bounds()


class Moments(BaseModel):
    """Mean and sample SD (ddof 1) of one marker in one class; None where the class has too few transcripts."""

    model_config = ConfigDict(extra="forbid")

    mean: float | None
    sd: float | None


class CorpusStats(BaseModel):
    """The statistics of one corpus; also the format of a reference file."""

    model_config = ConfigDict(extra="forbid")

    name: str  # a short name for table headers ("real Pitt", "simulated")
    provenance: str  # where the figures come from, in a sentence or two
    decimals: int  # the figures are given to this many places
    transcripts: dict[str, int]  # class -> labelled transcripts measured
    markers: dict[str, dict[str, Moments]]  # marker -> class -> mean, SD
    diversity: dict[str, dict[str, tuple[float, float] | None]]  # "distinct_2_n20" -> class -> (min, max)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


class Check(BaseModel):
    """One figure against its reference figure."""

    figure: str  # "iu_coverage", "distinct_2_n20"
    label: str  # "AD" / "HC"
    kind: Literal["mean", "sd", "range"]
    value: float | tuple[float, float] | None
    reference: float | tuple[float, float] | None
    deviation: float | None  # (value - reference) / reference for a mean or an SD; None for a range
    within: bool | None  # None: one side has no figure, nothing to compare


def diversity_key(measure: str, size: int) -> str:
    return f"{measure}_n{size}"


def measure(transcripts: Sequence[Transcript], *, name: str, provenance: str, extractor=None) -> CorpusStats:
    """The statistics of labelled transcripts (unlabelled ones are left out); ``extractor``: a
    :class:`~detect.markers.MarkerExtractor` to reuse (a new one otherwise)."""
    from detect.markers import MarkerExtractor

    labelled = [t for t in transcripts if t.label is not None]
    if len(labelled) < len(transcripts):
        log.info("left %d unlabelled transcript(s) out of the statistics", len(transcripts) - len(labelled))
    frame = (extractor or MarkerExtractor(show_progress=False)).transform(labelled).reset_index(drop=True)
    labels = [t.label.value for t in labelled if t.label is not None]  # all of them
    markers: dict[str, dict[str, Moments]] = {m: {} for m in STATS_MARKERS}
    diversity: dict[str, dict[str, tuple[float, float] | None]] = {
        diversity_key(m, n): {} for m in ("distinct_2", "self_similarity") for n in SUBSET_SIZES
    }
    counts = {}
    for label in CLASSES:
        rows = frame[[lab == label for lab in labels]]
        counts[label] = len(rows)
        for marker in STATS_MARKERS:
            column = rows[marker]
            markers[marker][label] = Moments(
                mean=_round(column.mean()) if len(column) else None,
                sd=_round(column.std(ddof=1)) if len(column) > 1 else None,
            )
        texts = [t.text for t in labelled if t.label is not None and t.label.value == label]
        for size in SUBSET_SIZES:
            for key, fn in (("distinct_2", _distinct_2), ("self_similarity", _self_similarity)):
                span = (
                    real_range(texts, size, fn, samples=REAL_SAMPLES, seed=DIVERSITY_SEED)
                    if len(texts) >= 2
                    else (math.nan, math.nan)
                )
                diversity[diversity_key(key, size)][label] = (
                    None
                    if any(math.isnan(v) for v in span)
                    else (round(float(span[0]), MEASURED_DECIMALS), round(float(span[1]), MEASURED_DECIMALS))
                )
    return CorpusStats(
        name=name,
        provenance=provenance,
        decimals=MEASURED_DECIMALS,
        transcripts=counts,
        markers=markers,
        diversity=diversity,
    )


def _distinct_2(texts: list[str]) -> float:
    return distinct_n(texts, 2)


def _self_similarity(texts: list[str]) -> float:
    return self_similarity(texts, seed=DIVERSITY_SEED)


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), MEASURED_DECIMALS)


# -- references ---------------------------------------------------------------------------------


def shipped_reference_path() -> Path:
    """The real Pitt figures shipped with the package (summary statistics, no text)."""
    return Path(str(resources.files("detect") / "data" / "reference" / "pitt-cookie.json"))


def load_reference(path: str | Path) -> CorpusStats:
    """A reference file (the JSON of ``corpus stats --json``); a bad one is a one-line :class:`CorpusError`."""
    path = Path(path)
    fix = "make one with `cookiebench corpus stats CORPUS --json > FILE`"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(path, "no such reference file", fix=fix) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(path, f"cannot read the reference file: {error}", fix=fix) from None
    except json.JSONDecodeError as error:
        raise CorpusError(path, f"not JSON: {error.msg}", line=error.lineno, fix=fix) from None
    try:
        stats = CorpusStats.model_validate(data)
    except ValidationError as error:
        raise CorpusError(path, f"not a statistics reference: {one_line(error)}", fix=fix) from None
    missing = [m for m in STATS_MARKERS if m not in stats.markers]
    if missing:
        raise CorpusError(path, f"not a statistics reference: markers.{missing[0]} missing", fix=fix)
    return stats


def shipped_reference() -> CorpusStats:
    return load_reference(shipped_reference_path())


# -- comparison ---------------------------------------------------------------------------------


def compare(stats: CorpusStats, reference: CorpusStats, bounds: Bounds = BOUNDS) -> list[Check]:
    """Every figure of ``reference`` against the same figure of ``stats``: markers, then diversity."""
    slack = 0.5 * 10.0**-reference.decimals  # a figure stands for every value that rounds to it
    checks = []
    for marker, by_class in reference.markers.items():
        for label, ref in by_class.items():
            mine = stats.markers.get(marker, {}).get(label)
            for kind, tolerance in (("mean", bounds.mean), ("sd", bounds.sd)):
                value, target = (getattr(mine, kind) if mine else None), getattr(ref, kind)
                deviation = within = None
                if value is not None and target is not None:
                    deviation = (value - target) / target if target else None
                    within = abs(value - target) <= tolerance * abs(target) + slack
                checks.append(
                    Check(
                        figure=marker,
                        label=label,
                        kind=kind,
                        value=value,
                        reference=target,
                        deviation=deviation,
                        within=within,
                    )
                )
    for figure, spans in reference.diversity.items():
        for label, ref_span in spans.items():
            span = stats.diversity.get(figure, {}).get(label)
            within = (
                None
                if span is None or ref_span is None
                else (span[0] >= ref_span[0] - slack and span[1] <= ref_span[1] + slack)
            )
            checks.append(
                Check(
                    figure=figure,
                    label=label,
                    kind="range",
                    value=span,
                    reference=ref_span,
                    deviation=None,
                    within=within,
                )
            )
    return checks


# -- tables -------------------------------------------------------------------------------------


def _num(value: float | None, decimals: int) -> str:
    return "n/a" if value is None else f"{value:.{decimals}f}"


def _verdict(checks: list[Check]) -> str:
    """'+3.1% / -12.0%' for a mean and an SD, 'inside' for a range; 'OUT' marks a figure out of bounds."""
    parts = []
    for check in checks:
        if check.within is None:
            parts.append("n/a")
        elif check.kind == "range":
            parts.append("inside" if check.within else "OUT")
        else:
            dev = "n/a" if check.deviation is None else f"{check.deviation:+.1%}"
            parts.append(dev if check.within else f"{dev} OUT")
    return " / ".join(parts)


def markdown(
    stats: CorpusStats, reference: CorpusStats, checks: list[Check] | None = None, bounds: Bounds = BOUNDS
) -> str:
    """The two tables of real-speech-statistics.md, the reference beside the corpus, and a verdict per figure."""
    checks = checks if checks is not None else compare(stats, reference, bounds)
    by = {(c.figure, c.label, c.kind): c for c in checks}
    # each side with the places its figures are given to (at most 4), so a bound met only
    # within the reference's rounding shows as such
    rd, md = min(reference.decimals, 4), min(stats.decimals, 4)
    ref, mine = reference.name, stats.name
    head = ["marker"]
    for label in CLASSES:
        head += [f"{ref} {label} mean (SD)", f"{mine} {label} mean (SD)", f"{label}: mean / SD vs {ref}"]
    lines = [_row(head), _row(["---"] * len(head))]
    for marker in reference.markers:
        cells = [marker]
        for label in CLASSES:
            r = reference.markers[marker].get(label)
            m = stats.markers.get(marker, {}).get(label)
            cells += [
                f"{_num(r.mean if r else None, rd)} ({_num(r.sd if r else None, rd)})",
                f"{_num(m.mean if m else None, md)} ({_num(m.sd if m else None, md)})",
                _verdict([c for k in ("mean", "sd") if (c := by.get((marker, label, k)))]),
            ]
        lines.append(_row(cells))
    lines.append("")
    head = ["diversity (range over random subsets)"]
    for label in CLASSES:
        head += [f"{ref} {label}", f"{mine} {label}", f"{label} vs {ref}"]
    lines += [_row(head), _row(["---"] * len(head))]
    for figure in reference.diversity:
        cells = [figure]
        for label in CLASSES:
            r_span = reference.diversity[figure].get(label)
            m_span = stats.diversity.get(figure, {}).get(label)
            cells += [
                _span(r_span, rd),
                _span(m_span, md),
                _verdict([c for c in [by.get((figure, label, "range"))] if c]),
            ]
        lines.append(_row(cells))
    met = sum(1 for c in checks if c.within)
    compared = sum(1 for c in checks if c.within is not None)
    lines += [
        "",
        f"{met} of {compared} figures within bounds (mean within {bounds.mean:.0%} of {ref}'s, SD within "
        f"{bounds.sd:.0%}, diversity range inside {ref}'s; each widened by half a unit of the "
        f"reference's last place, {reference.decimals} decimals).",
    ]
    return "\n".join(lines) + "\n"


def _span(span: tuple[float, float] | None, decimals: int) -> str:
    return "n/a" if span is None else f"{span[0]:.{decimals}f}–{span[1]:.{decimals}f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
