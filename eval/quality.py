"""The benchmark's view of synthetic-data quality: :mod:`augment.quality` per condition.

The measures themselves live in :mod:`augment.quality` (``cookiebench augment evaluate``
runs the same report on any JSONL file); this module only says what a benchmark hands
it: per generated condition (and classic augmentation), every record of every training
group with its filter verdicts, and, for TSTR against TRTR, each group's folds: the
group's passing records and real training transcripts, tested on the fold's real test
speakers. The real reference (class means, SDs, texts, the style detector) is the whole
real corpus: these measures judge synthetic text, never a test speaker's score.

:func:`quality_table` also returns the marker frame (real and synthetic rows, a ``group``
column) behind the report's marker-distribution plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from augment.classic import selection_require
from augment.filters import FilterConfig
from augment.quality import QUALITY_MARKERS, GeneratorData, QualityReport, Split, quality_report
from augment.prompts import STYLE_LABEL
from detect.markers import MarkerExtractor
from detect.records import Corpus

if TYPE_CHECKING:
    from eval.benchmark import Group


def _splits(corpus: Corpus, groups: Mapping[str, Group], condition: str) -> list[Split]:
    splits = []
    for group in groups.values():
        tested = set()
        for fold in group.folds:
            if fold.test_speakers in tested:  # the fixed split over seeds: the same test set again
                continue
            tested.add(fold.test_speakers)
            splits.append(Split(list(group.train), list(corpus.by_speakers(fold.test_speakers)),
                                group.synthetic.get(condition, [])))
    return splits


def benchmark_report(corpus: Corpus, groups: Mapping[str, Group], conditions: Sequence[str],
                     extractor: MarkerExtractor, filters: FilterConfig | None = None,
                     seed: int = 0) -> QualityReport:
    """The quality report with one generator per synthetic condition, named by the condition."""
    filters = filters or FilterConfig()
    generators = []
    for condition in (c for c in conditions if any(c in g.records for g in groups.values())):
        records = [r for g in groups.values() for r in g.records.get(condition, [])]
        # as the benchmark selected them (augment.classic.selection_require for classic copies)
        require = selection_require(filters.require) if condition == "classic" else filters.require
        generators.append(GeneratorData(condition, records, require=tuple(require),
                                        splits=_splits(corpus, groups, condition)))
    folds = sum(len({f.test_speakers for f in g.folds}) for g in groups.values())
    return quality_report(generators, list(corpus), filters=filters, extractor=extractor, seed=seed,
                          test=f"the {folds} real test fold(s) of the benchmark")


def generation_outcomes(groups: Mapping[str, Group]) -> pd.DataFrame:
    """Per generated condition x style, summed over groups: records generated, how many the largest
    ratio wants to pass the filters, and the most generation rounds a group took."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for group in groups.values():
        for (condition, style), outcome in getattr(group, "generation", {}).items():
            row = rows.setdefault((condition, style.upper()), {"generated": 0, "wanted": 0, "rounds": 0})
            row["generated"] += outcome.generated
            row["wanted"] += outcome.wanted
            row["rounds"] = max(row["rounds"], outcome.rounds)
    frame = pd.DataFrame([{"condition": c, "style": s, **row} for (c, s), row in rows.items()],
                         columns=["condition", "style", "generated", "wanted", "rounds"])
    return frame


def quality_table(corpus: Corpus, groups: Mapping[str, Group], conditions: Sequence[str],
                  extractor: MarkerExtractor, filters: FilterConfig | None = None,
                  seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, QualityReport]:
    """The report as a table (one row per condition x style), the marker frame, and the report."""
    report = benchmark_report(corpus, groups, conditions, extractor, filters, seed)
    table = report.frame().rename(columns={"generator": "condition"})
    if len(table):
        table = table.merge(generation_outcomes(groups), on=["condition", "style"], how="left")
    real = extractor.transform(list(corpus))
    real["group"] = [f"real {t.label.value}" for t in corpus]
    frames = [real]
    for condition in table.condition.unique() if len(table) else ():
        for style, label in STYLE_LABEL.items():
            marked = [r.markers for g in groups.values() for r in g.records.get(condition, [])
                      if r.style == style and r.markers]
            if marked:
                frame = pd.DataFrame(marked)
                frame["group"] = f"{condition} {label.value}"
                frames.append(frame)
    return table, pd.concat(frames, ignore_index=True), report


__all__ = ["QUALITY_MARKERS", "benchmark_report", "quality_table"]
