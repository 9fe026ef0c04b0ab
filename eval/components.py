"""The library's own configs, built from the benchmark config's sections: one small function each.

The benchmark hands these to :mod:`augment` (generator training, generation, filters, classic
augmentation); nothing else in :mod:`eval` reads those sections.
"""

from __future__ import annotations

from pathlib import Path

from augment import classic as classic_augmentation
from augment import filters as synthetic_filters
from augment import generate as generation
from augment import runner
from augment import train as generator_training
from augment.prompt_only import PromptOnlyConfig
from augment.synthesize import SynthesisConfig
from eval.config import BenchmarkConfig


def generator_config(config: BenchmarkConfig, run_dir: Path) -> generator_training.GeneratorConfig:
    g = config.generator
    return generator_training.GeneratorConfig(
        mode=g.mode,
        base_model=str(g.base_model) if g.base_model else None,
        sft=generator_training.CookieSFTConfig(output_dir=str(run_dir / "unused"), **g.sft),
        dpo=generator_training.CookieDPOConfig(output_dir=str(run_dir / "unused"), **g.dpo)
        if "dpo" in config.conditions else None,
        pairs=generator_training.PairConfig(**g.pairs) if g.pairs else generator_training.PairConfig(),
        sampling=generator_training.SampleConfig(**{"n": 8, "base": False, **g.sampling}),
        track=False,  # the benchmark's own run holds what matters; no extra experiment per fold
    )


def sampling_config(config: BenchmarkConfig) -> generation.SamplingConfig:
    g = config.generation
    return generation.SamplingConfig(temperature=g.temperature, min_p=g.min_p, top_p=g.top_p, max_tokens=g.max_tokens,
                                     min_tokens=g.min_tokens, frequency_penalty=g.frequency_penalty,
                                     seed=config.protocol.seed * 100_000)


def generation_backend(config: BenchmarkConfig, run_dir: Path) -> runner.Backend:
    """Where the benchmark's generators run: :func:`augment.runner.placement` decides from these."""
    g = config.generation
    return runner.Backend(endpoint=g.endpoint, where=g.backend, weights=g.adapters, enforce_eager=g.enforce_eager,
                          concurrency=g.concurrency, log_dir=run_dir / "logs")


def filter_config(config: BenchmarkConfig) -> synthetic_filters.FilterConfig:
    return synthetic_filters.FilterConfig(**config.filters)


def classic_config(config: BenchmarkConfig) -> classic_augmentation.ClassicConfig:
    options = {"seed": config.protocol.seed, **config.classic}
    return classic_augmentation.ClassicConfig(**options)


def synthesis_config(config: BenchmarkConfig) -> SynthesisConfig:
    """Each group's synthetic data reaches the largest ratio's need (smaller ratios take subsets)."""
    g = config.generation
    return SynthesisConfig(
        ratio=max(config.ratios), oversample=g.oversample, best_of=g.best_of, max_rounds=g.max_rounds,
        mode=config.generator.mode, prompt_only=PromptOnlyConfig(shots=g.few_shot, seed=config.protocol.seed),
        filters=filter_config(config),
        base_model=str(config.generator.base_model) if config.generator.base_model else None,
    )
