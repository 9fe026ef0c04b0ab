"""The benchmark's view of its synthetic data: :mod:`augment.quality` per condition, and the
tables a reviewer reads (every sample with its verdicts; each condition's training data).

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

import pandas as pd

from augment.classic import selection_require
from augment.filters import FilterConfig
from augment.prompts import STYLE_LABEL
from augment.quality import QUALITY_MARKERS, GeneratorData, quality_report
from augment.quality_results import QualityReport
from augment.tstr import Split
from detect.markers import MarkerExtractor
from detect.records import Corpus
from eval.results import Group

SAMPLE_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "disfluency_rate")


def _splits(corpus: Corpus, groups: Mapping[str, Group], condition: str) -> list[Split]:
    splits = []
    for group in groups.values():
        tested = set()
        for fold in group.folds:
            if fold.test_speakers in tested:  # the fixed split over seeds: the same test set again
                continue
            tested.add(fold.test_speakers)
            synthetic = group.synthetic.get(condition)
            splits.append(
                Split(
                    list(group.train),
                    list(corpus.by_speakers(fold.test_speakers)),
                    list(synthetic.kept) if synthetic else [],
                )
            )
    return splits


def benchmark_report(
    corpus: Corpus,
    groups: Mapping[str, Group],
    conditions: Sequence[str],
    extractor: MarkerExtractor,
    filters: FilterConfig | None = None,
    seed: int = 0,
) -> QualityReport:
    """The quality report with one generator per synthetic condition, named by the condition."""
    filters = filters or FilterConfig()
    generators = []
    for condition in (c for c in conditions if any(c in g.synthetic for g in groups.values())):
        records = [r for g in groups.values() for r in _records(g, condition)]
        # as the benchmark selected them (augment.classic.selection_require for classic copies)
        require = selection_require(filters.require) if condition == "classic" else filters.require
        generators.append(
            GeneratorData(condition, records, require=tuple(require), splits=_splits(corpus, groups, condition))
        )
    folds = sum(len({f.test_speakers for f in g.folds}) for g in groups.values())
    return quality_report(
        generators,
        list(corpus),
        filters=filters,
        extractor=extractor,
        seed=seed,
        test=f"the {folds} real test fold(s) of the benchmark",
    )


def generation_outcomes(groups: Mapping[str, Group]) -> pd.DataFrame:
    """Per generated condition x style, summed over groups: records generated, how many the largest
    ratio wants to pass the filters, and the most generation rounds a group took."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for group in groups.values():
        for condition, synthetic in group.synthetic.items():
            for style, outcome in synthetic.outcomes.items():
                row = rows.setdefault((condition, style.upper()), {"generated": 0, "wanted": 0, "rounds": 0})
                row["generated"] += outcome.generated
                row["wanted"] += outcome.wanted
                row["rounds"] = max(row["rounds"], outcome.rounds)
    return pd.DataFrame(
        [{"condition": c, "style": s, **row} for (c, s), row in rows.items()],
        columns=["condition", "style", "generated", "wanted", "rounds"],
    )


def quality_table(
    corpus: Corpus,
    groups: Mapping[str, Group],
    conditions: Sequence[str],
    extractor: MarkerExtractor,
    filters: FilterConfig | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, QualityReport]:
    """The report as a table (one row per condition x style), the marker frame, and the report."""
    report = benchmark_report(corpus, groups, conditions, extractor, filters, seed)
    table = report.frame().rename(columns={"generator": "condition"})
    if len(table):
        table = table.merge(generation_outcomes(groups), on=["condition", "style"], how="left")
    real = extractor.transform(list(corpus))
    real["group"] = [f"real {t.label.value if t.label else 'unlabelled'}" for t in corpus]
    frames = [real]
    for condition in table.condition.unique() if len(table) else ():
        for style, label in STYLE_LABEL.items():
            marked = [
                r.markers for g in groups.values() for r in _records(g, condition) if r.style == style and r.markers
            ]
            if marked:
                frame = pd.DataFrame(marked)
                frame["group"] = f"{condition} {label.value}"
                frames.append(frame)
    return table, pd.concat(frames, ignore_index=True), report


def _records(group: Group, condition: str) -> tuple:
    synthetic = group.synthetic.get(condition)
    return synthetic.records if synthetic else ()


def samples_frame(groups: Mapping[str, Group]) -> pd.DataFrame:
    """Every synthetic record, with its filter verdicts and markers: what the classifiers were trained on, readable."""
    rows = []
    for key, group in groups.items():
        for condition, synthetic in group.synthetic.items():
            for r in synthetic.records:
                failed = sorted(name for name, verdict in r.verdicts.items() if not verdict.passed)
                rows.append(
                    {
                        "group": key,
                        "condition": condition,
                        "style": r.style,
                        "generator": r.generator.tag(),
                        "passed": not failed,
                        "failed_filters": ", ".join(failed),
                        "text": r.text,
                        **{m: round(float(r.markers[m]), 4) for m in SAMPLE_MARKERS if m in (r.markers or {})},
                    }
                )
    return pd.DataFrame(rows)


def training_datasets(groups: Mapping[str, Group]) -> dict[str, pd.DataFrame]:
    """Each condition's synthetic training data (its passing records, every group), one row per transcript."""
    rows: dict[str, list[dict]] = {}
    for key, group in groups.items():
        for condition, synthetic in group.synthetic.items():
            rows.setdefault(condition, []).extend(
                {
                    "id": t.id,
                    "label": t.label.value if t.label else None,
                    "generator": t.source.generator,
                    "group": key,
                    "text": t.text,
                }
                for t in synthetic.kept
            )
    return {condition: pd.DataFrame(kept) for condition, kept in rows.items() if kept}


__all__ = ["QUALITY_MARKERS", "quality_table", "samples_frame", "training_datasets"]
