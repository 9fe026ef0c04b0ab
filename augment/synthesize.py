"""Filtered synthetic data for a training set: generation in top-up rounds, best of n, filters.

The one entry point from "these training transcripts (and the generators trained on them)"
to "these synthetic records pass the filters"; the benchmark calls it with all its training groups::

    train = TrainingSet("g1", transcripts, adapters={"dpo": {"cond": Path("runs/g1/cond/dpo/adapter")}})
    data = synthesize(
        [train],
        ["prompt-only", "dpo"],
        Path("runs/synthetic"),
        config,
        run_round=lambda files: run_jobs([f.job for f in files], Backend(), SamplingConfig()),
        extractor=MarkerExtractor(),
    )
    data["g1"]["dpo"].kept  # the passing records, as training transcripts, in record order

For each training set, source and style, one resumable JSONL file,
``<out_dir>/<key>/<source>-<style>.jsonl``, filled through :mod:`augment.runner`: a source is
``prompt-only`` (the base model with few-shot examples of the training set) or a trained stage
(``sft``, ``dpo``: the set's adapters of that stage, one per unit, :func:`augment.prompts.adapter_unit`).
A file first asks for ``oversample`` x the records its pool needs (``pool`` x what the ratio wants;
the filters reject some), n candidates each with ``best_of``; every record is filtered against the training set
(``<source>.filtered.jsonl`` keeps every verdict), and a file with too few passing records gets
another round (:func:`top_up`) until ``max_rounds``. A round's size depends only on the records of
the rounds before it, read in record order up to that round's size, so a rerun replays the same
rounds over the files on disk (nothing is generated twice) and keeps the same records.

``run_round`` completes a round's files: :func:`augment.runner.run_jobs` on this machine, or
shares of them on other workers (the benchmark's Ray executor); the rounds are decided here.
:func:`classic` is the same for classic augmentation (EDA-style edits of the training set).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from augment import classic as classic_augmentation
from augment import filters as synthetic_filters
from augment import generate as generation
from augment import prompt_only, runner
from augment.prompts import STYLE_LABEL, STYLES, Mode, Style, adapter_unit, real_lengths
from augment.synthetic import SyntheticDescription, write_records
from detect.markers import MarkerExtractor
from detect.records import Transcript

logger = logging.getLogger(__name__)

PROMPT_ONLY = "prompt-only"  # the source that prompts the base model instead of a trained adapter
CLASSIC = "classic"


@dataclass(frozen=True)
class GenerationOutcome:
    """How one generation file ended: records generated over how many rounds, and how many of
    them pass the filters against how many the ratio wants."""

    generated: int
    passed: int
    wanted: int
    rounds: int

    @property
    def short(self) -> bool:
        return self.passed < self.wanted


@dataclass(frozen=True)
class Synthetic:
    """A training set's synthetic data from one source."""

    records: tuple[SyntheticDescription, ...] = ()  # every record, with its filter verdicts and markers
    kept: tuple[Transcript, ...] = ()  # the records that pass, as training transcripts, in record order
    outcomes: Mapping[Style, GenerationOutcome] = field(default_factory=dict)  # per style (generated sources)


@dataclass(frozen=True)
class TrainingSet:
    """Real training transcripts, and the generators trained on them alone."""

    key: str  # names its folder under ``out_dir`` and its adapters' served names
    transcripts: Sequence[Transcript]
    adapters: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)  # stage -> unit -> adapter folder


@dataclass(frozen=True)
class SynthesisConfig:
    """What a training set's synthetic data must reach, and how it is made and kept."""

    ratio: float  # the largest ratio a cell draws at: ratio x the real transcripts of a class, per style
    oversample: float  # a file's first round asks for this many times what the pool needs

    best_of: int  # candidates per kept record (augment.filters.best_of_verdicts)
    max_rounds: int  # generation rounds per file, the first included
    mode: Mode  # the trained adapters' mode: which unit writes which style
    prompt_only: prompt_only.PromptOnlyConfig  # few-shot prompts of the `prompt-only` source
    filters: synthetic_filters.FilterConfig
    base_model: str | None = None  # a local HF folder; None: the prepared SmolLM2
    # Records of each style that must pass: pool x what the ratio wants. Above 1, each draw from
    # the pool (a benchmark repeat's) is a different subset, so repeats vary the synthetic data too.
    pool: float = 1.0

    def need(self, transcripts: Sequence[Transcript]) -> dict[Style, int]:
        """Passing records per style the pool must reach."""
        return wanted(transcripts, self.ratio * self.pool)


@dataclass(frozen=True)
class GenerationFile:
    """One resumable JSONL file: a training set's records of one source and style."""

    key: str  # the training set
    source: str
    job: runner.Job


RoundRunner = Callable[[Sequence[GenerationFile]], None]  # completes every file of a round


def wanted(transcripts: Sequence[Transcript], ratio: float) -> dict[Style, int]:
    """Synthetic records per style for a ratio: ratio x the real transcripts of that class."""
    return {
        style: math.ceil(ratio * sum(1 for t in transcripts if t.label == label))
        for style, label in STYLE_LABEL.items()
    }


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


def generation_files(
    train: TrainingSet, sources: Sequence[str], out_dir: Path, config: SynthesisConfig
) -> list[GenerationFile]:
    """The training set's first-round files, one per source and style."""
    first = {
        style: math.ceil(n * config.oversample) * config.best_of for style, n in config.need(train.transcripts).items()
    }
    return [
        GenerationFile(train.key, source, _job(train, source, style, first[style], out_dir, config))
        for source in sources
        for style in STYLES
    ]


def _job(train: TrainingSet, source: str, style: Style, n: int, out_dir: Path, config: SynthesisConfig) -> runner.Job:
    out = out_dir / train.key / f"{source}-{style}.jsonl"
    lengths = real_lengths(train.transcripts, style)
    if source == PROMPT_ONLY:
        prompter = prompt_only.FewShotPrompter(list(train.transcripts), style, config.prompt_only)
        return runner.prompt_only_job(out, n, style, prompter, base_model=config.base_model, lengths=lengths)
    unit = adapter_unit(style, config.mode)
    ids = tuple(t.id for t in train.transcripts)
    # Every record of an adapter descends from all of the training set's transcripts.
    return runner.adapter_job(
        out,
        n,
        style,
        f"{train.key}-{source}-{unit}",
        train.adapters[source][unit],
        mode=config.mode,
        base_model=config.base_model,
        parents=lambda i: ids,
        lengths=lengths,
    )


def synthesize(
    sets: Sequence[TrainingSet],
    sources: Sequence[str],
    out_dir: Path,
    config: SynthesisConfig,
    *,
    run_round: RoundRunner,
    extractor: MarkerExtractor,
) -> dict[str, dict[str, Synthetic]]:
    """Each training set's filtered synthetic data per source (key -> source -> data), generated
    in rounds until every file has enough passing records or ``max_rounds`` is spent.

    Every set's files go into one call of ``run_round`` per round, so one vLLM serves a
    generator's files of every set.
    """
    by_key = {s.key: s for s in sets}
    files = [f for s in sets for f in generation_files(s, sources, out_dir, config)]
    first = [f.job.n for f in files]
    for round_ in range(1, config.max_rounds + 1):
        run_round(files)
        data = {
            s.key: {source: _judge_files(s, source, files, out_dir, config, extractor) for source in sources}
            for s in sets
        }
        outcomes = [_outcome(f, by_key[f.key], data[f.key][f.source], config, round_) for f in files]
        more = [
            top_up(o.passed, o.wanted, o.generated, n, config.oversample, config.best_of)
            for o, n in zip(outcomes, first, strict=True)
        ]
        if round_ == config.max_rounds or not any(more):
            break
        logger.info(
            "generation round %d: %d of %d files short of passing records; generating more",
            round_ + 1,
            sum(1 for m in more if m),
            len(files),
        )
        files = [replace(f, job=replace(f.job, n=f.job.n + m)) if m else f for f, m in zip(files, more, strict=True)]
    for f, outcome in zip(files, outcomes, strict=True):
        if outcome.short:
            logger.warning(
                "group %s %s %s: %d of the %d records the pool needs pass the filters after "
                "%d generation round(s) of %d records; cells that want more use what there is "
                "(raise generation.max_rounds or generation.oversample, or loosen filters)",
                f.key,
                f.source,
                f.job.style.upper(),
                outcome.passed,
                outcome.wanted,
                outcome.rounds,
                outcome.generated,
            )
    return {
        key: {
            source: replace(
                synthetic,
                outcomes={
                    f.job.style: o for f, o in zip(files, outcomes, strict=True) if f.key == key and f.source == source
                },
            )
            for source, synthetic in by_source.items()
        }
        for key, by_source in data.items()
    }


def _judge_files(
    train: TrainingSet,
    source: str,
    files: Sequence[GenerationFile],
    out_dir: Path,
    config: SynthesisConfig,
    extractor: MarkerExtractor,
) -> Synthetic:
    # In record order, not arrival order, and only this round's share of each file: a rerun
    # selects the same records.
    records = [
        r
        for f in files
        if f.key == train.key and f.source == source
        for r in generation.read_generation(f.job.out)
        if generation.record_index(r) < f.job.n
    ]
    return judge(train, source, records, out_dir, config.filters, extractor, best_of=config.best_of)


def _outcome(
    f: GenerationFile, train: TrainingSet, synthetic: Synthetic, config: SynthesisConfig, round_: int
) -> GenerationOutcome:
    passed = sum(1 for t in synthetic.kept if t.label == STYLE_LABEL[f.job.style])
    return GenerationOutcome(f.job.n, passed, config.need(train.transcripts)[f.job.style], round_)


def classic(
    train: TrainingSet,
    out_dir: Path,
    config: SynthesisConfig,
    classic_config: classic_augmentation.ClassicConfig,
    extractor: MarkerExtractor,
) -> Synthetic:
    """Classic augmentation of the training set, enough copies per transcript for the pool, filtered."""
    records = classic_augmentation.classic_augment(
        list(train.transcripts), classic_config, per_transcript=math.ceil(config.ratio * config.pool)
    )
    return judge(train, CLASSIC, records, out_dir, config.filters, extractor)


def judge(
    train: TrainingSet,
    source: str,
    records: Sequence[SyntheticDescription],
    out_dir: Path,
    filters: synthetic_filters.FilterConfig,
    extractor: MarkerExtractor,
    *,
    best_of: int = 1,
) -> Synthetic:
    """Filters against the training set (every verdict recorded, also in
    ``<out_dir>/<key>/<source>.filtered.jsonl``): all records with their verdicts, and the
    passing ones as transcripts, in record order."""
    judged = synthetic_filters.apply_filters(
        records, config=filters, training=list(train.transcripts), extractor=extractor, best_of=best_of
    )
    # Classic copies are edits of real training transcripts: 'privacy' is recorded, never required.
    require = classic_augmentation.selection_require(filters.require) if source == CLASSIC else filters.require
    passed = synthetic_filters.select(judged, require)
    write_records(out_dir / train.key / f"{source}.filtered.jsonl", judged)
    logger.info(
        "group %s %s: %d of %d synthetic records pass the filters%s",
        train.key,
        source,
        len(passed),
        len(judged),
        f" (best of {best_of})" if best_of > 1 else "",
    )
    return Synthetic(tuple(judged), tuple(r.to_transcript(condition=source) for r in passed))


__all__ = ["GenerationOutcome", "SynthesisConfig", "Synthetic", "TrainingSet", "classic", "synthesize", "wanted"]
