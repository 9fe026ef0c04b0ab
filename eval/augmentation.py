"""What each training group gets: its generators, and its synthetic data per condition.

The units of work an executor runs (:mod:`eval.executors`): :func:`train_unit` (a group's SFT
then DPO adapters, :func:`augment.train.train_generators`, cached by a hash of data and config),
:func:`classic_unit` (classic augmentation of a group, filtered) and :func:`generation_unit` (a
share of a generation round). The generation rounds themselves are :func:`augment.synthesize.synthesize`'s,
over every group at once; this module only says where a round runs: on the driver (its one vLLM
already uses every core of its machine), or dealt to ``generation_workers`` Ray tasks, one vLLM
each (:func:`deal`). Dealing stays here, not in :mod:`augment`: it is how the benchmark spreads a
round over its executor's workers, and augment takes any round runner.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from augment import runner
from augment import synthesize as synthesis
from augment import train as generator_training
from augment.synthesize import GenerationFile, Synthetic
from detect.markers import MarkerExtractor
from detect.records import Corpus
from eval.components import classic_config, generation_backend, generator_config, sampling_config, synthesis_config
from eval.config import GENERATED, BenchmarkConfig
from eval.results import Group

logger = logging.getLogger(__name__)

Tell = Callable[[str, int, int], None]  # progress: stage, done, total


def train_unit(config: BenchmarkConfig, key: str, train: Corpus, run_dir: Path) -> dict[str, dict[str, Path]]:
    """Unit of work: a group's generators (SFT, then DPO); stage -> unit -> adapter folder."""
    report = generator_training.train_generators(list(train), run_dir / "generators" / key, generator_config(config))
    adapters = {"sft": {unit: r.sft.adapter for unit, r in report.units.items()}}
    if any(r.dpo for r in report.units.values()):
        adapters["dpo"] = {unit: r.dpo.adapter for unit, r in report.units.items() if r.dpo}
    return adapters


def classic_unit(
    config: BenchmarkConfig, run_dir: Path, key: str, train: Corpus, extractor: MarkerExtractor | None
) -> Synthetic:
    """Unit of work: classic augmentation of a group's training transcripts, filtered."""
    extractor = extractor or MarkerExtractor(cache_dir=run_dir / "cache")  # on a worker: its own
    return synthesis.classic(
        synthesis.TrainingSet(key, train),
        run_dir / "synthetic",
        synthesis_config(config),
        classic_config(config),
        extractor,
    )


def generate(
    config: BenchmarkConfig,
    groups: Mapping[str, Group],
    run_dir: Path,
    unit_dir: Path,
    extractor: MarkerExtractor,
    ex,
    tell: Tell,
) -> dict[str, dict[str, Synthetic]]:
    """Every group's generated conditions (group key -> condition -> data), in top-up rounds the
    driver decides from the filters' verdicts on the round before; a round runs here, or dealt to
    the executor's generation workers (``unit_dir``: the run folder as they see it)."""

    shared = ex.share(config)

    def run_round(files: Sequence[GenerationFile]) -> None:
        if not ex.generation_workers:
            run_jobs(config, files, run_dir, tell)
            return
        refs = [
            ex.submit(
                generation_unit, shared, share, unit_dir, kind="generate", resources=config.executor.generate, gpu=True
            )
            for share in deal(files, ex.generation_workers)
        ]
        tell("generating", 0, len(refs))
        for done, (_, share) in enumerate(ex.as_completed(refs), 1):
            logger.info("generation: %d file(s) completed on %s (pid %d)", share.files, share.node, share.pid)
            tell("generating", done, len(refs))

    conditions = [c for c in config.conditions if c in GENERATED]
    return synthesis.synthesize(
        [g.training_set() for g in groups.values()],
        conditions,
        run_dir / "synthetic",
        synthesis_config(config),
        run_round=run_round,
        extractor=extractor,
    )


def run_jobs(config: BenchmarkConfig, files: Sequence[GenerationFile], run_dir: Path, tell: Tell) -> None:
    """Completes every generation file here (a finished run starts no vLLM)."""
    runner.run_jobs(
        [f.job for f in files],
        generation_backend(config, run_dir),
        sampling_config(config),
        on_job=lambda done, total: tell("generating", done, total),
        resume_command=f"cookiebench benchmark --config {config.name}",
    )


@dataclass(frozen=True)
class GenerationShare:
    """What one generation task did, and where (for the log)."""

    node: str
    pid: int
    files: int


def generation_unit(config: BenchmarkConfig, files: list[GenerationFile], run_dir: Path) -> GenerationShare:
    """Unit of work: a share of a generation round, on a worker: its files, on a vLLM of its own (its GPU's)."""
    run_jobs(config, files, run_dir, lambda stage, done, total: None)
    return GenerationShare(platform.node(), os.getpid(), len(files))


def deal(files: Sequence[GenerationFile], workers: int) -> list[list[GenerationFile]]:
    """A round's unfinished files in at most ``workers`` shares of about equal work.

    A generator's files stay in one share (one vLLM load of it, merged or not); the biggest
    generator goes to the share with the least work so far. Work is the records a file lacks,
    counted by its lines, which does not depend on how the driver's vLLM build would serve it.
    """
    units: dict[tuple[str, str], list[GenerationFile]] = {}
    missing: dict[tuple[str, str], int] = {}
    for f in files:
        out = f.job.out
        lacks = max(0, f.job.n - (sum(1 for _ in out.open()) if out.exists() else 0))
        if lacks:
            key = (f.key, f.job.generator.name)
            units.setdefault(key, []).append(f)
            missing[key] = missing.get(key, 0) + lacks
    shares: list[list[GenerationFile]] = [[] for _ in range(min(workers, len(units)))]
    work = [0] * len(shares)
    for key in sorted(units, key=lambda k: -missing[k]):
        least = work.index(min(work))
        shares[least] += units[key]
        work[least] += missing[key]
    return shares


def generator_artifacts(run_dir: Path, groups: Mapping[str, Group]) -> list[tuple[Path, str]]:
    """Each group's adapters and preference pairs, with the artifact folder each is logged under."""
    artifacts: list[tuple[Path, str]] = []
    for group in groups.values():
        artifacts += [
            (adapter, f"adapters/{group.key}/{stage}-{unit}")
            for stage, units in group.adapters.items()
            for unit, adapter in units.items()
        ]
        artifacts += [
            (pairs, f"pairs/{group.key}/{pairs.parent.name}")
            for pairs in sorted((run_dir / "generators" / group.key).glob("*/pairs*.json*"))
        ]
    return artifacts
