"""The benchmark: how much does each kind of augmentation move AD-detection F1?

    cookiebench benchmark --config demo

Protocol (see ARCHITECTURE.md):

1. **Folds** by speaker, stratified by label, repeated over seeds (or the fixed ADReSS split).
   Folds that share the same training speakers (the ADReSS split over seeds) share one
   *group*: one set of generators and synthetic data. With ``protocol.reserve``, a seeded,
   stratified share of each fold's training speakers is held back: everything (generators
   included) trains on the rest, and the controls add the reserve's transcripts, `real` as
   labelled (what more real data is worth) and `flipped` with the wrong label (it must hurt).
2. **Generators** per group, from that group's training speakers only: SFT then DPO
   adapters (:func:`augment.train.train_generators`, cached by a hash of data and config).
3. **Synthetic data** per group x condition x style, through :mod:`augment.runner` (on the
   CPU build: one in-process vLLM engine per generator, adapter merged, started and
   stopped in turn; elsewhere one server with the adapters by name; or
   ``generation.endpoint``; on a Ray cluster with GPUs each round is dealt to one task per GPU,
   :func:`deal`), read back in record order and filtered, in rounds until enough
   records pass for the largest ratio (``generation.max_rounds``); classic augmentation
   of the group's training transcripts. Every file is resumable JSONL under ``runs/<name>/``.
4. **Classifiers** per classifier x condition x ratio x fold: trained on the fold's real
   training transcripts plus ``ratio`` synthetic per real (per class), tested on the fold's
   real test transcripts. Each finished cell is appended to ``scores.csv`` at once, so an
   interrupted benchmark resumes where it stopped.
5. **Statistics**, quality of the synthetic data and a report in sentences. MLflow's parent
   run opens when the benchmark starts (system metrics on), takes each cell as it finishes,
   ends FAILED if the benchmark dies and is continued by its resume; children per condition x
   ratio x classifier at the end.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from augment import classic as classic_augmentation
from augment import filters as synthetic_filters
from augment import generate as generation
from augment import prompt_only, runner
from augment import train as generator_training
from augment.prompts import STYLE_LABEL
from augment.synthetic import SyntheticDescription, write_records
from detect import cv
from detect.errors import UserError
from detect.hashing import digest
from detect.markers import MarkerExtractor
from detect.readers import ReadReport, default_corpus_path, log_read_report
from detect.records import Corpus, Label, Source, Transcript
from eval.config import CONTROLS, GENERATED, BenchmarkConfig
from eval.quality import quality_table

if TYPE_CHECKING:
    from eval.executors import Executor

logger = logging.getLogger(__name__)

SCORE_KEYS = ["classifier", "condition", "ratio", "seed", "fold"]
SCORES = "scores.csv"  # a state folder's scored cells, one row each, with the config digest
PREDICTIONS = "predictions.csv"  # beside scores.csv: each cell's out-of-fold P(AD), one row per test transcript


class BenchmarkError(UserError):
    """The benchmark cannot go on as configured."""


@dataclass(frozen=True)
class GenerationOutcome:
    """How one generation file of a group ended: records generated over how many rounds, and
    how many of them pass the filters against how many the largest ratio wants."""

    generated: int
    passed: int
    wanted: int
    rounds: int

    @property
    def short(self) -> bool:
        return self.passed < self.wanted


@dataclass
class Group:
    """Folds that share one training set, and so one set of generators and synthetic data."""

    key: str
    train: Corpus
    folds: list[cv.Fold]
    synthetic: dict[str, list[Transcript]] = field(default_factory=dict)  # condition -> passed, in record order
    records: dict[str, list[SyntheticDescription]] = field(default_factory=dict)  # condition -> all, with verdicts
    adapters: dict[str, dict[str, Path]] = field(default_factory=dict)  # stage -> unit -> adapter folder
    reserve: list[Transcript] = field(default_factory=list)  # held-back real transcripts, in a seeded order
    short: set[tuple[str, float, str]] = field(default_factory=set)  # (condition, ratio, style) already warned of
    generation: dict[tuple[str, str], GenerationOutcome] = field(default_factory=dict)  # (condition, style)


@dataclass
class BenchmarkResult:
    scores: pd.DataFrame
    table: pd.DataFrame
    quality: pd.DataFrame
    run_id: str | None
    report: Path
    timings: dict[str, float]


def group_key(train_speakers) -> str:
    return digest("\n".join(sorted(train_speakers)), 10)


def plan(config: BenchmarkConfig, read: ReadReport | None = None) -> tuple[Corpus, list[cv.Fold], dict[str, Group]]:
    """Folds and their training groups. With ``protocol.reserve``, each fold trains on its base
    speakers only; the reserve is kept on the group for the `real` and `flipped` controls."""
    corpus = cv.evaluable(config.reading.load(config.corpus, read)[0])
    seeds = list(range(config.protocol.seed, config.protocol.seed + config.protocol.repeats))
    protocol = "adress" if config.protocol.split == "adress" else "kfold"
    folds = []
    groups: dict[str, Group] = {}
    for fold in cv.make_folds(corpus, protocol=protocol, folds=config.protocol.folds, seeds=seeds):
        base, reserve = split_reserve(corpus, fold.train_speakers, config.protocol.reserve, config.protocol.seed)
        fold = dataclasses.replace(fold, train_speakers=base)
        folds.append(fold)
        key = group_key(base)
        if key not in groups:
            groups[key] = Group(key, corpus.by_speakers(base), [], reserve=_shuffled(corpus.by_speakers(reserve),
                                                                                     config.protocol.seed))
        groups[key].folds.append(fold)
    return corpus, folds, groups


def split_reserve(corpus: Corpus, speakers: tuple[str, ...], share: float,
                  seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(base, reserve): ``share`` of the speakers, stratified by label, held back.

    Seeded by the protocol seed alone, so folds with the same training speakers (the ADReSS
    split over seeds) keep one base, and one set of generators.
    """
    if share == 0:
        return speakers, ()
    from sklearn.model_selection import train_test_split

    labels = corpus.speaker_labels()
    ordered = sorted(speakers)
    try:
        base, reserve = train_test_split(ordered, test_size=share, random_state=seed,
                                         stratify=[labels[s].value for s in ordered])
    except ValueError as error:  # a class too small to split, or a share that leaves one side empty
        counts = ", ".join(f"{label.value} {sum(labels[s] == label for s in ordered)}" for label in sorted(
            {labels[s] for s in ordered}, key=lambda label: label.value))
        raise BenchmarkError(f"protocol.reserve {share}: cannot hold back a stratified share of these {len(ordered)} "
                             f"training speakers ({counts}): {error}; lower protocol.reserve (0: no reserve, no "
                             "controls) or use more speakers") from None
    return tuple(sorted(base)), tuple(sorted(reserve))


def _shuffled(corpus: Corpus, seed: int) -> list[Transcript]:
    """A fixed random order, so the controls' ratios take nested, unsorted subsets."""
    order = np.random.default_rng(seed).permutation(len(corpus))
    return [corpus[int(i)] for i in order]


def needed(train: Corpus, ratio: float) -> dict[str, int]:
    """Synthetic records per style for a ratio: ratio x the real transcripts of that class."""
    return {style: math.ceil(ratio * len(train.by_label(label))) for style, label in STYLE_LABEL.items()}


# -- generators --------------------------------------------------------------------------------


def generator_config(config: BenchmarkConfig) -> generator_training.GeneratorConfig:
    g = config.generator
    return generator_training.GeneratorConfig(
        mode=g.mode, base_model=str(g.base_model) if g.base_model else None, sft=g.sft,
        dpo=g.dpo if "dpo" in config.conditions else None, pairs=g.pairs, sampling=g.sampling,
        track=False,  # the benchmark's own run holds what matters; no extra experiment per fold
    )


def train_unit(config: BenchmarkConfig, key: str, train: Corpus, run_dir: Path) -> dict[str, dict[str, Path]]:
    """Unit of work: a group's generators (SFT, then DPO); stage -> unit -> adapter folder."""
    report = generator_training.train_generators(list(train), run_dir / "generators" / key,
                                                 generator_config(config))
    adapters = {"sft": {unit: r.sft.adapter for unit, r in report.units.items()}}
    if any(r.dpo for r in report.units.values()):
        adapters["dpo"] = {unit: r.dpo.adapter for unit, r in report.units.items() if r.dpo}
    return adapters


def train_group_generators(config: BenchmarkConfig, group: Group, run_dir: Path) -> None:
    group.adapters = train_unit(config, group.key, group.train, run_dir)


# -- synthetic data ----------------------------------------------------------------------------


def served_name(group: Group, stage: str, unit: str) -> str:
    return f"{group.key}-{stage}-{unit}"


@dataclass(frozen=True)
class GenerationJob:
    """One resumable JSONL file: a group's records of one condition and style."""

    group: str
    condition: str
    job: runner.Job


def generation_jobs(config: BenchmarkConfig, group: Group, run_dir: Path) -> list[GenerationJob]:
    """The group's files, one per generated condition and style."""
    # Generated beyond the largest ratio's need by `oversample`: the filters reject some.
    top = {style: math.ceil(n * config.generation.oversample) * config.generation.best_of
           for style, n in needed(group.train, max(config.ratios)).items()}
    base_model = str(config.generator.base_model) if config.generator.base_model else None
    train_ids = tuple(t.id for t in group.train)
    jobs = []
    for condition in (c for c in config.conditions if c in GENERATED):
        for style in ("ad", "hc"):
            out = run_dir / "synthetic" / group.key / f"{condition}-{style}.jsonl"
            if condition == "prompt-only":
                prompter = prompt_only.FewShotPrompter(
                    list(group.train), style,
                    prompt_only.PromptOnlyConfig(shots=config.generation.few_shot, seed=config.protocol.seed))
                job = runner.prompt_only_job(out, top[style], style, prompter, base_model=base_model)
            else:
                unit = "cond" if config.generator.mode == "conditional" else style
                # Every record of an adapter descends from all of the group's training transcripts.
                job = runner.adapter_job(out, top[style], style, served_name(group, condition, unit),
                                         group.adapters[condition][unit], mode=config.generator.mode,
                                         base_model=base_model, parents=lambda i: train_ids)
            jobs.append(GenerationJob(group.key, condition, job))
    return jobs


def generate_synthetic(config: BenchmarkConfig, groups: dict[str, Group], run_dir: Path, extractor: MarkerExtractor,
                       run_round: Callable[[list[GenerationJob]], None]) -> None:
    """Generates, filters and keeps each group's synthetic data, in rounds, until every file has
    enough passing records for the largest ratio or ``generation.max_rounds`` is spent.
    ``run_round`` completes a round's files: :func:`run_jobs` here, or shares of them (:func:`deal`) on Ray tasks.

    A round's size depends only on the records of the rounds before it, read in record order
    up to that round's size, so a resumed benchmark replays the same rounds over the records
    already on disk (nothing is generated twice) and keeps the same records.
    """
    jobs = [job for group in groups.values() for job in generation_jobs(config, group, run_dir)]
    first = [j.job.n for j in jobs]
    conditions = [c for c in config.conditions if c in GENERATED]
    for round_ in range(1, config.generation.max_rounds + 1):
        run_round(jobs)
        for group in groups.values():
            for condition in conditions:
                # in record order, not arrival order, and only this round's share of the file:
                # a rerun selects the same records
                records = [r for j in jobs if j.group == group.key and j.condition == condition
                           for r in generation.read_generation(j.job.out) if generation.record_index(r) < j.job.n]
                group.records[condition], group.synthetic[condition] = judge(
                    config, run_dir, group.key, group.train, condition, records, extractor)
        topped, grew = [], False
        for j, n_first in zip(jobs, first):
            group = groups[j.group]
            passed = sum(1 for t in group.synthetic[j.condition] if t.label == STYLE_LABEL[j.job.style])
            wanted = needed(group.train, max(config.ratios))[j.job.style]
            group.generation[(j.condition, j.job.style)] = GenerationOutcome(j.job.n, passed, wanted, round_)
            more = top_up(passed, wanted, j.job.n, n_first, config.generation.oversample, config.generation.best_of)
            topped.append(dataclasses.replace(j, job=dataclasses.replace(j.job, n=j.job.n + more)) if more else j)
            grew |= more > 0
        if round_ == config.generation.max_rounds or not grew:
            break
        logger.info("generation round %d: %d of %d files short of passing records; generating more", round_ + 1,
                    sum(a is not b for a, b in zip(topped, jobs)), len(jobs))
        jobs = topped
    for group in groups.values():
        for (condition, style), outcome in group.generation.items():
            if outcome.short:
                logger.warning("group %s %s %s: %d of the %d records the largest ratio wants pass the filters after "
                               "%d generation round(s) of %d records; cells that want more use what there is "
                               "(raise generation.max_rounds or generation.oversample, or loosen filters)",
                               group.key, condition, style.upper(), outcome.passed, outcome.wanted, outcome.rounds,
                               outcome.generated)


def top_up(passed: int, wanted: int, generated: int, first: int, oversample: float, best_of: int = 1) -> int:
    """Records to add to a file that is short: the shortfall over the pass rate so far, with the
    same margin as the first round; never more than the first round asked for (a generator
    whose output hardly ever passes should not eat the machine). Whole groups of ``best_of``
    candidates."""
    if passed >= wanted or generated == 0:
        return 0
    rate = passed / generated
    guess = math.ceil((wanted - passed) * oversample / rate) if rate else first
    return best_of * math.ceil(max(1, min(first, guess)) / best_of)


def sampling_config(config: BenchmarkConfig) -> generation.SamplingConfig:
    options = {f.name: getattr(config.generation, f.name) for f in dataclasses.fields(generation.SamplingOptions)}
    return generation.SamplingConfig(**options, seed=config.protocol.seed * 100_000)


def generation_backend(config: BenchmarkConfig, run_dir: Path) -> runner.Backend:
    """Where the benchmark's generators run: :func:`augment.runner.placement` decides from these."""
    g = config.generation
    return runner.Backend(endpoint=g.endpoint, where=g.backend, weights=g.adapters, enforce_eager=g.enforce_eager,
                          concurrency=g.concurrency, log_dir=run_dir / "logs")


def run_jobs(config: BenchmarkConfig, jobs: list[GenerationJob], run_dir: Path,
             tell: Callable[[str, int, int], None]) -> None:
    """Completes every generation file (a finished run starts no vLLM)."""
    runner.run_jobs([j.job for j in jobs], generation_backend(config, run_dir), sampling_config(config),
                    on_job=lambda done, total: tell("generating", done, total),
                    resume_command=f"cookiebench benchmark --config {config.name}")


@dataclass(frozen=True)
class GenerationShare:
    """What one generation task did, and where (for the log)."""

    node: str
    pid: int
    files: int


def generation_unit(config: BenchmarkConfig, jobs: list[GenerationJob], run_dir: Path) -> GenerationShare:
    """A share of a generation round, on a worker: its files, on a vLLM of its own (its GPU's)."""
    run_jobs(config, jobs, run_dir, lambda stage, done, total: None)
    return GenerationShare(platform.node(), os.getpid(), len(jobs))


def deal(jobs: list[GenerationJob], workers: int) -> list[list[GenerationJob]]:
    """A round's unfinished files in at most ``workers`` shares of about equal work.

    A generator's files stay in one share (one vLLM load of it, merged or not); the biggest
    generator goes to the share with the least work so far. Work is the records a file lacks,
    counted by its lines, which does not depend on how the driver's vLLM build would serve it.
    """
    units: dict[tuple[str, str], list[GenerationJob]] = {}
    missing: dict[tuple[str, str], int] = {}
    for job in jobs:
        out = job.job.out
        lacks = max(0, job.job.n - (sum(1 for _ in out.open()) if out.exists() else 0))
        if lacks:
            key = (job.group, job.job.generator.name)
            units.setdefault(key, []).append(job)
            missing[key] = missing.get(key, 0) + lacks
    shares: list[list[GenerationJob]] = [[] for _ in range(min(workers, len(units)))]
    work = [0] * len(shares)
    for key in sorted(units, key=lambda k: -missing[k]):
        least = work.index(min(work))
        shares[least] += units[key]
        work[least] += missing[key]
    return shares


def classic_unit(config: BenchmarkConfig, run_dir: Path, key: str, train: Corpus,
                 extractor: MarkerExtractor | None) -> tuple[list[SyntheticDescription], list[Transcript]]:
    """Unit of work: classic augmentation of a group's training transcripts, filtered."""
    per = math.ceil(max(config.ratios))
    records = classic_augmentation.classic_augment(
        list(train), dataclasses.replace(config.classic, seed=config.protocol.seed), per_transcript=per)
    return judge(config, run_dir, key, train, "classic", records, extractor)


def judge(config: BenchmarkConfig, run_dir: Path, key: str, train: Corpus, condition: str,
          records: list[SyntheticDescription],
          extractor: MarkerExtractor | None) -> tuple[list[SyntheticDescription], list[Transcript]]:
    """Filters (every verdict recorded, also in ``<condition>.filtered.jsonl``); returns all
    records with their verdicts and the passing ones as transcripts, in record order."""
    extractor = extractor or MarkerExtractor(cache_dir=run_dir / "cache")  # on a worker: its own
    filter_config = config.filters
    best_of = config.generation.best_of if condition in GENERATED else 1
    judged = synthetic_filters.apply_filters(records, config=filter_config, training=list(train),
                                             extractor=extractor, best_of=best_of)
    require = filter_config.require
    if condition == "classic":
        require = classic_augmentation.selection_require(require)
    passed = synthetic_filters.select(judged, require)
    write_records(run_dir / "synthetic" / key / f"{condition}.filtered.jsonl", judged)
    logger.info("group %s %s: %d of %d synthetic records pass the filters%s", key, condition, len(passed), len(judged),
                f" (best of {best_of})" if best_of > 1 else "")
    return judged, [r.to_transcript(condition=condition) for r in passed]


Short = list[tuple[str, int, int]]  # (style, available, wanted) for each style that fell short


def pool_of(group: Group, condition: str) -> list[Transcript]:
    """What a condition draws its extras from: passing records, or the reserve for the controls."""
    return group.reserve if condition in CONTROLS else group.synthetic.get(condition, [])


def draw_extras(train: Corpus, pool: list[Transcript], condition: str, ratio: float) -> tuple[list[Transcript], Short]:
    """The first ratio x n_real records per class of the pool: nested sets across ratios.

    Synthetic conditions draw passing records in record order; the controls draw the
    group's reserve (`real` as labelled, `flipped` with the other label).
    """
    if condition == "none":
        return [], []
    control = condition in CONTROLS
    out: list[Transcript] = []
    short: Short = []
    for style, n in needed(train, ratio).items():
        of_style = [t for t in pool if t.label == STYLE_LABEL[style]]
        if len(of_style) < n:
            short.append((style, len(of_style), n))
        out += [_as_control(t, condition) for t in of_style[:n]] if control else of_style[:n]
    return out, short


def warn_short(group: Group, condition: str, ratio: float, short: Short) -> None:
    for style, have, n in short:
        if (condition, ratio, style) not in group.short:
            group.short.add((condition, ratio, style))  # once, not once per seed and fold
            what = "reserve transcripts are" if condition in CONTROLS else "records pass the filters"
            logger.warning("group %s %s x%g: %d %s %s, %d wanted", group.key, condition, ratio, have, style, what, n)


def extras_for(group: Group, condition: str, ratio: float) -> list[Transcript]:
    """The extras a cell of this group, condition and ratio trains on (see :func:`draw_extras`)."""
    extras, short = draw_extras(group.train, pool_of(group, condition), condition, ratio)
    warn_short(group, condition, ratio, short)
    return extras


def _as_control(transcript: Transcript, condition: str) -> Transcript:
    """A reserve transcript as the control adds it; `flipped` swaps its label (and id, to stay unique)."""
    update: dict[str, Any] = {"source": Source(kind="real", condition=condition, parent_ids=(transcript.id,))}
    if condition == "flipped":
        update |= {"id": f"{transcript.id}~flipped",
                   "label": Label.HC if transcript.label == Label.AD else Label.AD}
    return transcript.model_copy(update=update)


# -- classifiers -------------------------------------------------------------------------------


def cells(config: BenchmarkConfig, folds: list[cv.Fold]) -> list[tuple[str, str, float, cv.Fold]]:
    out = []
    for classifier in config.classifiers:
        for condition in config.conditions:
            for ratio in ([0.0] if condition == "none" else config.ratios):
                out += [(classifier, condition, ratio, fold) for fold in folds]
    return out


def score_cell(config: BenchmarkConfig, corpus: Corpus, train: Corpus, pool: list[Transcript], classifier: str,
               condition: str, ratio: float, fold: cv.Fold) -> tuple[dict[str, Any], pd.DataFrame, Short]:
    """Unit of work: one classifier cell. Returns its score row, its out-of-fold predictions and
    the styles whose extras fell short; it writes nothing (the driver keeps the state files)."""
    short: Short = []

    def extras(_fold_train: Corpus) -> list[Transcript]:
        drawn, short[:] = draw_extras(train, pool, condition, ratio)
        return drawn

    result = cv.evaluate_folds(corpus, [fold], classifier, config.classifier_options.get(classifier),
                               extra_train=extras)
    row = result.rows[0].as_dict()
    wanted = 0 if condition == "none" else sum(needed(train, ratio).values())
    keys = {"classifier": classifier, "condition": condition, "ratio": ratio}
    predictions = result.predictions_frame().assign(**keys, config_digest=config.digest())
    return {**keys, **row, "n_wanted": wanted}, predictions, short


def record_cell(run_dir: Path, row: dict[str, Any], predictions: pd.DataFrame) -> None:
    """A finished cell into the state files: predictions first, so a cell with a score always has them."""
    path = run_dir / PREDICTIONS
    predictions.to_csv(path, mode="a", header=not path.exists(), index=False)
    scores_path = run_dir / SCORES
    pd.DataFrame([row]).to_csv(scores_path, mode="a", header=not scores_path.exists(), index=False)


def load_predictions(path: Path, config_digest: str) -> pd.DataFrame:
    """Kept predictions of this config; a cell scored twice (killed between its two writes) keeps its last."""
    if not path.exists():
        return pd.DataFrame(columns=[*SCORE_KEYS, "id", "speaker_id", "y_true", "p_ad"])
    kept = pd.read_csv(path, dtype={"id": str, "speaker_id": str, "config_digest": str})
    kept = kept[kept.config_digest == config_digest]  # also drops a line cut short: the digest comes last
    return kept.drop_duplicates([*SCORE_KEYS, "id"], keep="last")


def load_scores(path: Path, config_digest: str) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=SCORE_KEYS)
    # As text: a digest of only digits would otherwise come back as a number and match nothing.
    scores = pd.read_csv(path, dtype={"config_digest": str})
    if "config_digest" in scores and set(scores.config_digest) != {config_digest}:
        raise BenchmarkError(f"{path}: scores from a different config; use another output_dir, or delete "
                             f"{path.parent} to start over")
    return scores


def in_cell_order(frame: pd.DataFrame, order: dict[tuple, int]) -> pd.DataFrame:
    """Rows in the order of the cells, stable within a cell: the order the local executor writes
    them in; Ray writes them as they finish, and the table keeps the order it reads."""
    rank = [order.get(key, len(order))
            for key in frame[SCORE_KEYS].astype({"ratio": float}).itertuples(index=False, name=None)]
    if all(a <= b for a, b in zip(rank, rank[1:])):
        return frame
    return frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)


# -- the run -----------------------------------------------------------------------------------


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


def run_benchmark(config: BenchmarkConfig, *, progress: Callable[[str, int, int], None] | None = None,
                  tracking_uri: str | None = None) -> BenchmarkResult:
    """Runs (or resumes) the whole protocol and returns scores, the summary table and the report."""
    import mlflow

    from eval import tracking_layout
    from eval.executors import executor

    clock = Stopwatch()
    run_dir = Path(config.run_dir())
    run_dir.mkdir(parents=True, exist_ok=True)
    # The state folder of another config (a profile edited since, a new release's demo): say so now,
    # not after the generators have trained. Only finished cells write scores: this is also what a
    # resume finds done.
    scored = load_scores(run_dir / SCORES, config.digest())
    (run_dir / "config.json").write_text(json.dumps(config.as_dict(), indent=2) + "\n")

    with clock.stage("plan"):
        read = ReadReport()
        corpus, folds, groups = plan(config, read)
    simulated = Path(config.corpus or default_corpus_path()).resolve() == default_corpus_path().resolve()
    with tracking_layout.benchmark_run(config, corpus, run_dir, simulated=simulated,
                                       tracking_uri=tracking_uri) as run_id:
        log_read_report(read, run_id)
        with executor(config.executor, run_id=run_id, tracking_uri=mlflow.get_tracking_uri()) as ex:
            scores, table, quality, report = _run(config, corpus, folds, groups, run_dir, scored, clock,
                                                  progress or (lambda stage, done, total: None), simulated, ex)
    return BenchmarkResult(scores, table, quality, run_id, report, clock.seconds)


def _run(config: BenchmarkConfig, corpus: Corpus, folds: list[cv.Fold], groups: dict[str, Group], run_dir: Path,
         scored: pd.DataFrame, clock: Stopwatch, tell: Callable[[str, int, int], None], simulated: bool,
         ex: Executor) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Path]:
    """The stages, inside the parent MLflow run: the work graph is submitted to the executor
    ``ex`` whole, then its results are taken in the order of the stages (see eval/executors.py).
    A stage's time is how long the driver waited for it after the one before."""
    from eval import tracking_layout
    from eval.analysis import summary_table

    extractor = MarkerExtractor(cache_dir=run_dir / "cache")
    logger.info("%d folds in %d training groups, %d transcripts", len(folds), len(groups), len(corpus))
    x = config.executor
    # Workers may start elsewhere than here: they get absolute paths (the same folder, on a
    # filesystem every node mounts, for a cluster of several machines).
    unit_dir = run_dir if ex.local else run_dir.resolve()
    shared = ex.share(config)
    trains = {key: ex.share(group.train) for key, group in groups.items()}
    here_extractor = ex.here(extractor)

    trained = [c for c in ("sft", "dpo") if c in config.conditions]
    adapters = {key: ex.submit(train_unit, shared, key, trains[key], unit_dir, kind="train", resources=x.train,
                               gpu=True) for key in groups} if trained else {}
    judged: dict[tuple[str, str], Any] = {}
    pools: dict[tuple[str, str], Any] = {}
    if "classic" in config.conditions:
        for key in groups:
            judged[(key, "classic")], pools[(key, "classic")] = ex.submit(
                classic_unit, shared, unit_dir, key, trains[key], here_extractor,
                kind="classic", resources=x.cell, returns=2)
    for key, group in groups.items():
        for condition in (c for c in config.conditions if c == "none" or c in CONTROLS):
            pools[(key, condition)] = ex.share(pool_of(group, condition))

    scores_path = run_dir / SCORES
    digest = config.digest()
    todo = cells(config, folds)
    step_of = {(fold.seed, fold.fold): i for i, fold in enumerate(folds)}
    shared_corpus = ex.share(corpus)

    if adapters:
        with clock.stage("generators"):
            for i, (key, ref) in enumerate(adapters.items()):
                tell("training generators", i, len(groups))
                groups[key].adapters = ex.get(ref)
            tell("training generators", len(groups), len(groups))
    if any(c in GENERATED for c in config.conditions):
        # The driver decides each top-up round from the filters' verdicts on the round before;
        # a round runs here, or dealt to generation workers (one vLLM per GPU).
        def run_round(jobs: list[GenerationJob]) -> None:
            if not ex.generation_workers:
                run_jobs(config, jobs, run_dir, tell)
                return
            shares = deal(jobs, ex.generation_workers)
            refs = [ex.submit(generation_unit, shared, share, unit_dir, kind="generate", resources=x.generate,
                              gpu=True) for share in shares]
            tell("generating", 0, len(refs))
            for done, (_, share) in enumerate(ex.as_completed(refs), 1):
                logger.info("generation: %d file(s) completed on %s (pid %d)", share.files, share.node, share.pid)
                tell("generating", done, len(refs))

        with clock.stage("generation"):
            generate_synthetic(config, groups, run_dir, extractor, run_round)
        for key, group in groups.items():
            for condition in (c for c in config.conditions if c in GENERATED):
                pools[(key, condition)] = ex.share(group.synthetic[condition])
    if "classic" in config.conditions:
        with clock.stage("classic"):
            for key, group in groups.items():
                group.records["classic"] = ex.get(judged[(key, "classic")])
                group.synthetic["classic"] = ex.get(pools[(key, "classic")])
    tracking_layout.log_samples(groups)

    # The cells not scored yet, in table order, with their results to come.
    done_cells = {tuple(r) for r in scored[SCORE_KEYS].astype({"ratio": float}).itertuples(index=False)}
    submitted = []
    for classifier, condition, ratio, fold in todo:
        if (classifier, condition, float(ratio), fold.seed, fold.fold) in done_cells:
            continue
        key = group_key(fold.train_speakers)
        submitted.append(((classifier, condition, ratio, fold), ex.submit(
            score_cell, shared, shared_corpus, trains[key], pools[(key, condition)], classifier, condition,
            ratio, fold, kind="cell", resources=x.cell, gpu=classifier == "bert")))
    with clock.stage("classifiers"):
        finished = len(todo) - len(submitted)
        tell("classifying", finished, len(todo))
        for i, (row, predictions, short) in ex.as_completed([ref for _, ref in submitted]):
            (classifier, condition, ratio, fold) = submitted[i][0]
            warn_short(groups[group_key(fold.train_speakers)], condition, ratio, short)
            row["config_digest"] = digest
            record_cell(run_dir, row, predictions)
            tracking_layout.log_cell(row, step_of[(fold.seed, fold.fold)])
            finished += 1
            tell("classifying", finished, len(todo))
    order = {(c, condition, float(r), fold.seed, fold.fold): i for i, (c, condition, r, fold) in enumerate(todo)}
    scores = in_cell_order(load_scores(scores_path, digest), order)

    with clock.stage("report"):
        table = summary_table(scores, protocol="adress" if config.protocol.split == "adress" else "kfold",
                              predictions=in_cell_order(load_predictions(run_dir / PREDICTIONS, digest), order))
        quality, marker_frame, quality_report = quality_table(
            corpus, groups, config.conditions, extractor, config.filters,
            seed=config.protocol.seed)
        report = tracking_layout.log_benchmark(
            config, corpus=corpus, groups=groups, scores=scores, table=table, quality=quality,
            quality_report=quality_report, marker_frame=marker_frame, run_dir=run_dir, timings=clock.seconds,
            simulated=simulated,
        )
    return scores, table, quality, report


__all__ = ["BenchmarkResult", "run_benchmark", "plan", "extras_for"]
