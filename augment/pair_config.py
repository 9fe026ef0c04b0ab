"""How preference pairs are asked for: the strategy names and :class:`PairConfig` (what
:func:`augment.pairs.build_pairs` builds; :mod:`augment.pairs` describes the strategies)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as config_dataclass

from augment.prompts import Mode, Style

Strategy = Literal["real", "degraded", "generated", "broken", "disfluent"]


STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


@config_dataclass(config=ConfigDict(extra="forbid"))
class PairConfig:
    """How pairs are built."""

    # what
    strategies: tuple[Strategy, ...] | dict[Style, tuple[Strategy, ...]] = Field(
        default=("real", "degraded", "broken"),
        description="Any of real, degraded, generated, broken, disfluent; or per style: {ad: [...], hc: [...]}.",
    )
    styles: tuple[Style, ...] = Field(
        default=("ad", "hc"), min_length=1, description="Target styles to build pairs for."
    )
    mode: Mode = Field(default="separate", description="Prompt mode.")
    # how many
    rejected_per_chosen: int = Field(
        default=2, ge=1, description="Real pairing: other-style texts drawn per chosen text."
    )
    degraded_per_transcript: int = Field(
        default=1, ge=1, description="Degradation: degraded versions per HC transcript."
    )
    max_pairs_per_strategy: int | None = Field(
        default=None, ge=1, description="Cap per (style, strategy), kept at random."
    )
    # filtering
    min_margin: float = Field(default=0.2, description="Drop pairs whose style-axis margin is below this.")
    min_transcripts: int = Field(default=4, ge=1, description="Fewer transcripts of a style than this is an error.")
    # degradation and corruption
    degrade_intensity: float = Field(default=0.6, ge=0.0, le=1.0, description="Degradation intensity, 0 to 1.")
    corruptions: tuple[Literal["loop", "offtopic"], ...] = Field(
        default=("loop", "offtopic"),
        min_length=1,
        description="Broken pairs: the broken versions made, in turns over the chosen texts.",
    )
    seed: int = Field(default=0, description="Seed for sampling and degradation.")

    def __post_init__(self) -> None:
        if isinstance(self.strategies, dict):
            missing = [s for s in self.styles if not self.strategies.get(s)]
            if missing:
                raise ValueError(f"strategies names none for style(s) {missing}; give each style a list")
        elif not self.strategies:
            raise ValueError("strategies is empty; name at least one of " + ", ".join(STRATEGIES))

    def styles_for(self, strategy: Strategy) -> list[Style]:
        """The styles that get ``strategy``'s pairs, in ``styles`` order."""
        if isinstance(self.strategies, dict):
            return [s for s in self.styles if strategy in self.strategies.get(s, ())]
        return list(self.styles) if strategy in self.strategies else []
