"""How generation samples and retries: :class:`SamplingOptions` (what a YAML's ``generation`` sets),
:class:`SamplingConfig` (sent with every request by :mod:`augment.generate` and the engines) and
:class:`RetryPolicy` (how hard a batch tries before giving up)."""

from __future__ import annotations

import statistics
from typing import Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as config_dataclass

from augment.prompts import draw_length
from augment.synthetic import SamplingInfo


@config_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SamplingOptions:
    """How each token is drawn: the options a benchmark's ``generation`` section shares with
    :class:`SamplingConfig` (and :class:`augment.sampling.SampleConfig` reuses the defaults of).

    The default truncation is min-p (keep tokens at least ``min_p`` times as likely as the
    most likely one), not top-p: the two keep text equally on track, but vLLM's CPU sampler
    sorts the whole 49k vocabulary of every sequence at every step for top-p, a large share of
    a step's time on 2 cores, while min-p is one threshold (bench-results/README.md, B19).
    """

    temperature: float = Field(default=0.9, ge=0, description="Sampling temperature.")
    min_p: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="Min-p truncation: keep tokens at least this share of the top one's probability (0: off).",
    )
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass (1: off; slow on the CPU build).")
    max_tokens: int = Field(default=160, gt=0, description="Most tokens generated per description.")
    # A floor on length: a tuned 135M model sometimes ends after one sentence ("The room is just a
    # mess."), which the length filter then throws away; vLLM holds back the end-of-text token
    # until min_tokens are out, so the description goes on instead.
    min_tokens: int = Field(
        default=0, ge=0, description="Fewest tokens generated per description: the end-of-text token waits (0: off)."
    )
    # Real speakers say 30 words or 200 (Pitt: words SD ~50 around ~90); one floor and ceiling for
    # every record made every description about as long as the next (words SD a fifth of the real
    # one, B34), and a length asked for in the prompt is not kept by a 135M model. Drawn per record,
    # the budget spreads as real lengths do, its mean unchanged.
    length_spread: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="How much of the real spread of lengths each record's min_tokens and max_tokens carry: "
        "both scaled by a length drawn from its style's real training transcripts over their mean, "
        "0 none (one budget for all), 1 the whole spread.",
    )
    # A light penalty breaks the loops a small model falls into ("and the boy and the boy ...").
    # Not repetition_penalty: it also punishes the prompt's words, i.e. the scene's nouns that a
    # description has to say.
    frequency_penalty: float = Field(
        default=0.3,
        ge=-2,
        le=2,
        description="OpenAI frequency penalty: a token is penalised by how often it was generated already (0: off).",
    )
    # Real speakers say uh and um (3-4% of their words); a 135M generator tuned a few steps says almost
    # none, and a frequency penalty only makes a second one less likely. A logit bias is the direct knob.
    filler_bias: float = Field(
        default=0.0,
        ge=0,
        le=10,
        description="Logit bias added to the filler words uh and um, "
        "where the base model's tokenizer writes one as a "
        "single token (0: off).",
    )
    # The reader renders real speech in lower case without commas or quotes (CHAT has none);
    # a 135M generator tuned a few steps still writes them, as the prose it was pretrained on.
    spoken: bool = Field(
        default=False,
        description="Write each completion as the corpus renders speech "
        "(augment.prompts.spoken): lower case but for I, no commas, colons "
        "or quotes; a dash between words becomes the correction mark.",
    )

    def __post_init__(self):
        if self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) must not exceed max_tokens ({self.max_tokens})")


@config_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SamplingConfig(SamplingOptions):
    """Sampling parameters sent with every request; record ``i`` uses ``seed + i``."""

    seed: int = Field(default=0, description="Seed of record 0; record i uses seed + i.")
    ignore_eos: bool = Field(default=False, description="Always generate max_tokens (benchmarks: equal lengths).")
    filler_tokens: tuple[int, ...] = Field(
        default=(),
        description="The token ids filler_bias raises (augment.runner sets them from the generator's base model).",
    )
    lengths: tuple[int, ...] = Field(
        default=(),
        description="Real lengths in words that length_spread draws from "
        "(augment.runner sets them from the job's training transcripts of its style).",
    )
    # Best of n keeps the candidate closest to its class's real markers, length among them: candidates
    # of different lengths would hand the length back to the mean.
    candidates: int = Field(
        default=1, ge=1, description="Records per kept description (best of n): they share one drawn length."
    )

    def token_budget(self, index: int) -> tuple[int, int]:
        """Record ``index``'s ``(min_tokens, max_tokens)``: the configured ones, scaled with
        ``length_spread`` by a length drawn for the record over the real mean (1: all the way).

        >>> SamplingConfig(min_tokens=50, max_tokens=100).token_budget(7)
        (50, 100)
        >>> for spread in (1, 0.5):
        ...     config = SamplingConfig(max_tokens=100, length_spread=spread, lengths=(30, 90))
        ...     print(sorted({config.token_budget(i) for i in range(20)}))
        [(0, 50), (0, 150)]
        [(0, 75), (0, 125)]
        """
        if not self.length_spread:
            return self.min_tokens, self.max_tokens
        if not any(self.lengths):
            raise ValueError(
                "length_spread needs the real lengths of the style's training transcripts (SamplingConfig.lengths); "
                "generate from a benchmark or a corpus, or turn length_spread off"
            )
        key = ["tokens", self.seed + index // self.candidates]
        drawn = (draw_length(self.lengths, key) or 0) / statistics.fmean(self.lengths)
        scale = 1 + self.length_spread * (drawn - 1)
        return round(self.min_tokens * scale), max(1, round(self.max_tokens * scale))

    def info(self, index: int) -> SamplingInfo:
        """What record ``index`` was sampled with: every field of this config, its own seed and token budget."""
        min_tokens, max_tokens = self.token_budget(index)
        return SamplingInfo(
            seed=self.seed + index,
            temperature=self.temperature,
            top_p=self.top_p,
            min_p=self.min_p,
            frequency_penalty=self.frequency_penalty,
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            ignore_eos=self.ignore_eos,
            spoken=self.spoken,
            filler_bias=self.filler_bias,
            length_spread=self.length_spread,
        )

    def vllm_extras(self, index: int) -> dict[str, Any]:
        """vLLM's own sampling fields for record ``index``, beyond the OpenAI API (sent in the request body)."""
        extras: dict[str, Any] = {"min_p": self.min_p} if self.min_p else {}
        min_tokens, max_tokens = self.token_budget(index)
        floor = max_tokens if self.ignore_eos else min_tokens  # all of them with ignore_eos
        if self.ignore_eos:
            extras.update(ignore_eos=True)
        if floor:
            extras.update(min_tokens=floor)
        if self.filler_bias and self.filler_tokens:
            extras.update(logit_bias={token: self.filler_bias for token in self.filler_tokens})
        return extras


@config_dataclass(config=ConfigDict(extra="forbid"))
class RetryPolicy:
    """How hard to try before giving up.

    ``attempts`` bounds both kinds of retry: the openai client's own for HTTP faults
    (``max_retries = attempts - 1``, its exponential backoff, honouring ``Retry-After``)
    and ours for malformed completions (a 200 without choices or text, or not JSON).
    """

    attempts: int = Field(
        default=4,
        ge=1,
        description="Tries per request (HTTP faults: the openai client's retries; "
        "malformed completions) before it counts as failed.",
    )
    timeout_s: float = Field(default=300.0, gt=0, description="Per-request timeout in seconds.")
    max_failed_requests: int = Field(
        default=1, ge=1, description="Requests that may exhaust their tries before the run stops."
    )
