"""The five pair strategies' candidates (:mod:`augment.pairs` describes each): a chosen and a rejected
text per target style, before :func:`augment.pairs.build_pairs` measures, filters and caps them."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from augment.corrupt import CORRUPTIONS
from augment.degrade import DegradeConfig, degrade, smooth
from augment.pair_config import PairConfig, Strategy
from augment.prompts import Style
from detect.markers import real_verbatim
from detect.records import Transcript


@dataclass
class Candidate:
    style: Style
    strategy: Strategy
    chosen: str
    rejected: str
    chosen_source: str
    rejected_source: str


def real_candidates(
    by_style: dict[Style, list[Transcript]], styles: Sequence[Style], config: PairConfig, rng: random.Random
) -> list[Candidate]:
    out = []
    for style in styles:
        other: Style = "hc" if style == "ad" else "ad"
        for chosen in by_style[style]:
            k = min(config.rejected_per_chosen, len(by_style[other]))
            for rejected in rng.sample(by_style[other], k):
                out.append(
                    Candidate(style, "real", real_verbatim(chosen), real_verbatim(rejected), chosen.id, rejected.id)
                )
    return out


def degraded_candidates(
    hc: list[Transcript], styles: Sequence[Style], config: PairConfig, rng: random.Random
) -> list[Candidate]:
    degrade_config = DegradeConfig(intensity=config.degrade_intensity)
    out = []
    for t in hc:
        original = real_verbatim(t)
        for _ in range(config.degraded_per_transcript):
            degraded = degrade(original, degrade_config, seed=rng.randrange(2**31)).text
            source = f"degraded:{t.id}"
            if "ad" in styles:
                out.append(Candidate("ad", "degraded", degraded, original, source, t.id))
            if "hc" in styles:
                out.append(Candidate("hc", "degraded", original, degraded, t.id, source))
    return out


def generated_candidates(
    by_style: dict[Style, list[Transcript]],
    samples: Mapping[str, Sequence[str]],
    styles: Sequence[Style],
    rng: random.Random,
) -> list[Candidate]:
    out = []
    for style in styles:
        for i, sample in enumerate(samples.get(style, ())):
            if not sample.strip():
                continue
            chosen = rng.choice(by_style[style])
            out.append(Candidate(style, "generated", real_verbatim(chosen), sample, chosen.id, f"sample:{style}:{i}"))
    return out


def broken_candidates(
    by_style: dict[Style, list[Transcript]],
    samples: Mapping[str, Sequence[str]],
    styles: Sequence[Style],
    config: PairConfig,
    rng: random.Random,
) -> list[Candidate]:
    """Each chosen transcript against its broken versions, and the style's SFT samples (the filters sort them later)."""
    out = []
    for style in styles:
        chosen = list(by_style[style])
        rng.shuffle(chosen)
        if config.max_pairs_per_strategy is not None:  # enough to fill the cap; spares cover filter drops
            chosen = chosen[: 2 * config.max_pairs_per_strategy]
        for i, t in enumerate(chosen):
            # one broken version per transcript, the corruptions taking turns: as many pairs as 'degraded' makes
            kind = config.corruptions[i % len(config.corruptions)]
            original = real_verbatim(t)
            try:
                broken = CORRUPTIONS[kind](original, seed=rng.randrange(2**31)).text
            except ValueError:  # too short to loop: nothing a generator would be punished for
                continue
            out.append(Candidate(style, "broken", original, broken, t.id, f"{kind}:{t.id}"))
        for i, sample in enumerate(samples.get(style, ())):
            if sample.strip():
                t = rng.choice(by_style[style])
                out.append(Candidate(style, "broken", real_verbatim(t), sample, t.id, f"sample:{style}:{i}"))
    return out


def disfluent_candidates(by_style: dict[Style, list[Transcript]], styles: Sequence[Style]) -> list[Candidate]:
    out = []
    for style in styles:
        for t in by_style[style]:
            original = real_verbatim(t)
            fluent = smooth(original)
            if fluent != original:
                out.append(Candidate(style, "disfluent", original, fluent, t.id, f"smooth:{t.id}"))
    return out
