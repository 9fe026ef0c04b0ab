"""The library's own configs, built from the benchmark config's sections: one small function each.

The benchmark hands these to :mod:`augment` (generator training, generation, filters, classic
augmentation); nothing else in :mod:`eval` reads those sections.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from augment import classic as classic_augmentation
from augment import generation_config, runner
from augment import train as generator_training
from augment.prompt_only import PromptOnlyConfig
from augment.synthesize import SynthesisConfig
from eval.config import BenchmarkConfig


def generator_config(config: BenchmarkConfig) -> generator_training.GeneratorConfig:
    g = config.generator
    return generator_training.GeneratorConfig(
        mode=g.mode,
        base_model=str(g.base_model) if g.base_model else None,
        sft=g.sft,
        dpo=g.dpo if "dpo" in config.conditions else None,
        pairs=g.pairs,
        sampling=g.sampling,
        track=False,  # the benchmark's own run holds what matters; no extra experiment per fold
    )


def sampling_config(config: BenchmarkConfig) -> generation_config.SamplingConfig:
    options = {
        f.name: getattr(config.generation, f.name) for f in dataclasses.fields(generation_config.SamplingOptions)
    }
    return generation_config.SamplingConfig(
        **options, seed=config.protocol.seed * 100_000, candidates=config.generation.best_of
    )


def generation_backend(config: BenchmarkConfig, run_dir: Path) -> runner.Backend:
    """Where the benchmark's generators run: :func:`augment.runner.placement` decides from these."""
    g = config.generation
    return runner.Backend(
        endpoint=g.endpoint,
        where=g.backend,
        weights=g.adapters,
        enforce_eager=g.enforce_eager,
        concurrency=g.concurrency,
        log_dir=run_dir / "logs",
    )


def classic_config(config: BenchmarkConfig) -> classic_augmentation.ClassicConfig:
    return dataclasses.replace(config.classic, seed=config.protocol.seed)


def synthesis_config(config: BenchmarkConfig) -> SynthesisConfig:
    """Each group's synthetic data: a pool of ``protocol.pool`` x the largest ratio's need (on the fixed
    split over repeats), from which each repeat draws its cells' subsets (eval.cells.draw_extras)."""
    g = config.generation
    return SynthesisConfig(
        ratio=max(config.ratios),
        oversample=g.oversample,
        best_of=g.best_of,
        max_rounds=g.max_rounds,
        mode=config.generator.mode,
        prompt_only=PromptOnlyConfig(shots=g.few_shot, seed=config.protocol.seed),
        filters=config.filters,
        pool=config.protocol.pool_factor(),
        base_model=str(config.generator.base_model) if config.generator.base_model else None,
    )
