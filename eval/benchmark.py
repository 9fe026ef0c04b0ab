"""The benchmark: how much does each kind of augmentation move AD-detection F1?

    cookiebench benchmark --config demo

The protocol (docs/statistics.md), as :func:`run_benchmark` runs it, top to bottom:

1. **Plan** (:mod:`eval.plan`): folds by speaker, stratified by label, repeated over seeds (or
   the fixed ADReSS split); folds that share their training speakers share one *group*; with
   ``protocol.reserve``, a held-back share of each group's speakers for the controls. A state
   folder of another config is refused first (:mod:`eval.state`).
2. **Generators** per group, from that group's training speakers only: SFT then DPO adapters
   (:func:`eval.augmentation.train_unit`, cached by a hash of data and config).
3. **Synthetic data** per group x condition x style: generated and filtered in top-up rounds
   (:func:`augment.synthesize.synthesize`, through :mod:`augment.runner`; on a Ray cluster with
   GPUs each round dealt to one task per GPU), and classic augmentation of each group's training
   transcripts. Every file is resumable JSONL under ``runs/<name>/``.
4. **Classifiers** per classifier x condition x ratio x fold (:mod:`eval.cells`): trained on the
   fold's real training transcripts plus ``ratio`` synthetic per real (per class), tested on
   the fold's real test transcripts. Each finished cell is appended to ``scores.csv`` at once.
5. **Statistics**, quality of the synthetic data and the report (:mod:`eval.report`), then
   logged to MLflow (:mod:`eval.tracking_layout`). The parent run opens when the benchmark
   starts (system metrics on), takes each cell as it finishes, ends FAILED if the benchmark dies
   and is continued by its resume; children per condition x ratio x classifier at the end.

Each unit of work (a group's training, its classic augmentation, a generation share, a cell) is
submitted to an executor (:mod:`eval.executors`): run here when its result is first taken, or
as a Ray task.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from augment.export import export_synthetic
from augment.synthesize import Synthetic
from detect.markers import MarkerExtractor
from detect.readers import ReadReport, default_corpus_path, log_read_report
from detect.records import Corpus
from eval import state, tracking_layout
from eval.analysis import summary_table
from eval.augmentation import Tell, classic_unit, generate, generator_artifacts, train_unit
from eval.cells import pool_of, score_cell, warn_short
from eval.config import GENERATED, BenchmarkConfig
from eval.executors import Executor, executor
from eval.plan import Cell, cells, plan
from eval.quality import quality_table, samples_frame, training_datasets
from eval.report import write_benchmark_report
from eval.results import BenchmarkResult, Group

logger = logging.getLogger(__name__)


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def run_benchmark(
    config: BenchmarkConfig, *, progress: Tell | None = None, tracking_uri: str | None = None
) -> BenchmarkResult:
    """Runs (or resumes) the whole protocol and returns scores, the summary table and the report.

    A stage's time (``timings``) is how long the driver waited for it after the one before.
    """
    import mlflow

    clock = Stopwatch()
    run_dir = Path(config.run_dir())
    scored = state.open_state(run_dir, config)
    with clock.stage("plan"):
        read = ReadReport()
        corpus, folds, groups = plan(config, read)
    simulated = Path(config.corpus or default_corpus_path()).resolve() == default_corpus_path().resolve()
    with tracking_layout.benchmark_run(
        config, corpus, run_dir, simulated=simulated, tracking_uri=tracking_uri
    ) as run_id:
        log_read_report(read, run_id)
        logger.info("%d folds in %d training groups, %d transcripts", len(folds), len(groups), len(corpus))
        with executor(config.executor, run_id=run_id, tracking_uri=mlflow.get_tracking_uri()) as ex:
            driver = _driver(config, run_dir, groups, ex, progress or (lambda stage, done, total: None))
            groups = _augment(driver, groups, clock)
            tracking_layout.log_samples(samples_frame(groups))
            todo = cells(config, folds)
            with clock.stage("classifiers"):
                _score(driver, corpus, groups, todo, state.to_score(todo, scored))
            scores, predictions = state.read_state(run_dir, config.digest(), todo)
            with clock.stage("report"):
                table, quality, report = _report(driver, corpus, groups, scores, predictions, clock.seconds, simulated)
    return BenchmarkResult(scores, table, quality, run_id, report, clock.seconds)


@dataclass(frozen=True)
class _Driver:
    """What the stages on the driver share."""

    config: BenchmarkConfig
    run_dir: Path
    unit_dir: Path  # the run folder as the executor's units see it
    ex: Executor
    shared: object  # the config, as the executor hands it to its units
    trains: dict[str, object]  # each group's training set, likewise
    extractor: MarkerExtractor
    tell: Tell


def _driver(config: BenchmarkConfig, run_dir: Path, groups: dict[str, Group], ex: Executor, tell: Tell) -> _Driver:
    # Workers may start elsewhere than here: they get absolute paths (the same folder, on a
    # filesystem every node mounts, for a cluster of several machines).
    unit_dir = run_dir if ex.local else run_dir.resolve()
    return _Driver(
        config,
        run_dir,
        unit_dir,
        ex,
        ex.share(config),
        {key: ex.share(group.train) for key, group in groups.items()},
        MarkerExtractor(cache_dir=run_dir / "cache"),
        tell,
    )


def _augment(d: _Driver, groups: dict[str, Group], clock: Stopwatch) -> dict[str, Group]:
    """Each group with its generators and its synthetic data per condition (stages 2 and 3)."""
    config, ex = d.config, d.ex
    # Generator training and classic augmentation need only the plan: both are submitted now, so
    # that they run side by side on Ray; locally each runs where its result is taken below.
    training = (
        {
            key: ex.submit(
                train_unit,
                d.shared,
                key,
                d.trains[key],
                d.unit_dir,
                kind="train",
                resources=config.executor.train,
                gpu=True,
            )
            for key in groups
        }
        if any(c in ("sft", "dpo") for c in config.conditions)
        else {}
    )
    classic = (
        {
            key: ex.submit(
                classic_unit,
                d.shared,
                d.unit_dir,
                key,
                d.trains[key],
                ex.here(d.extractor),
                kind="classic",
                resources=config.executor.cell,
            )
            for key in groups
        }
        if "classic" in config.conditions
        else {}
    )

    if training:
        with clock.stage("generators"):
            adapters = _take(ex, training, d.tell, "training generators")
        groups = {key: dataclasses.replace(group, adapters=adapters[key]) for key, group in groups.items()}
    if any(c in GENERATED for c in config.conditions):
        with clock.stage("generation"):
            generated = generate(config, groups, d.run_dir, d.unit_dir, d.extractor, ex, d.tell)
        groups = _with_synthetic(groups, generated)
    if classic:
        with clock.stage("classic"):
            augmented = {key: {"classic": ex.get(ref)} for key, ref in classic.items()}
        groups = _with_synthetic(groups, augmented)
    return groups


def _take(ex: Executor, refs: Mapping[str, Any], tell: Tell, stage: str) -> dict[str, Any]:
    """Each unit's result, in order, telling the progress."""

    def one(done: int, ref: Any) -> Any:
        tell(stage, done, len(refs))
        return ex.get(ref)

    values = {key: one(i, ref) for i, (key, ref) in enumerate(refs.items())}
    tell(stage, len(refs), len(refs))
    return values


def _with_synthetic(groups: dict[str, Group], data: Mapping[str, Mapping[str, Synthetic]]) -> dict[str, Group]:
    return {
        key: dataclasses.replace(group, synthetic={**group.synthetic, **data.get(key, {})})
        for key, group in groups.items()
    }


def _score(d: _Driver, corpus: Corpus, groups: dict[str, Group], todo: list[Cell], pending: list[Cell]) -> None:
    """Scores the pending cells (stage 4), each written to the state files and the run as it finishes."""
    config, ex = d.config, d.ex
    shared_corpus = ex.share(corpus)
    pools: dict[tuple[str, str], Any] = {
        (key, condition): ex.share(pool_of(group, condition))
        for key, group in groups.items()
        for condition in config.conditions
    }
    refs = [
        ex.submit(
            score_cell,
            d.shared,
            shared_corpus,
            d.trains[cell.group],
            pools[(cell.group, cell.condition)],
            cell.classifier,
            cell.condition,
            cell.ratio,
            cell.fold,
            kind="cell",
            resources=config.executor.cell,
            gpu=cell.classifier == "bert",
        )
        for cell in pending
    ]
    step_of = {fold: i for i, fold in enumerate(dict.fromkeys((c.fold.seed, c.fold.fold) for c in todo))}
    finished = len(todo) - len(pending)
    d.tell("classifying", finished, len(todo))
    shortfalls = []
    for i, (row, predictions, short) in ex.as_completed(refs):
        cell = pending[i]
        state.record_cell(d.run_dir, {**row, "config_digest": config.digest()}, predictions)
        tracking_layout.log_cell(row, step_of[(cell.fold.seed, cell.fold.fold)])
        shortfalls.append((cell.group, cell.condition, cell.ratio, short))
        finished += 1
        d.tell("classifying", finished, len(todo))
    warn_short(shortfalls)


def _report(
    d: _Driver,
    corpus: Corpus,
    groups: dict[str, Group],
    scores: pd.DataFrame,
    predictions: pd.DataFrame,
    timings: dict[str, float],
    simulated: bool,
) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Statistics and synthetic-data quality, the report folder, then all of it logged to MLflow (stage 5)."""
    config = d.config
    table = summary_table(
        scores, protocol="adress" if config.protocol.split == "adress" else "kfold", predictions=predictions
    )
    quality, marker_frame, quality_report = quality_table(
        corpus, groups, config.conditions, d.extractor, config.filters, seed=config.protocol.seed
    )
    report = write_benchmark_report(
        d.run_dir / "report",
        config,
        corpus=corpus,
        scores=scores,
        table=table,
        quality=quality,
        marker_frame=marker_frame,
        timings=timings,
        simulated=simulated,
        quality_report=quality_report,
    )
    exported = export_synthetic({key: group.synthetic for key, group in groups.items()}, d.run_dir / "export")
    tracking_layout.log_benchmark(
        corpus=corpus,
        scores=scores,
        table=table,
        quality=quality,
        timings=timings,
        report_dir=report.parent,
        artifacts=[
            (d.run_dir / "synthetic", "synthetic"),
            (exported, "export"),
            *generator_artifacts(d.run_dir, groups),
        ],
        datasets=training_datasets(groups),
        quality_report=quality_report,
    )
    return table, quality, report


__all__ = ["BenchmarkResult", "run_benchmark"]
