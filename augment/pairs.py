"""Preference pairs for DPO: what to prefer, built only from the transcripts given.

Five strategies, selectable and combinable (:class:`PairConfig` ``strategies``):

``real``
    Same prompt; chosen is a real transcript of the target style, rejected one of the
    other style (AD chosen over HC for the AD-style generator, the reverse for HC).
``degraded``
    HC transcripts degraded into AD-like text (:mod:`augment.degrade`); the degraded
    text is chosen for the AD style and rejected for the HC style.
``generated``
    The SFT model's own samples, rejected against a real text of the target style when
    they are further from that style than it is.
``broken``
    Chosen is a real transcript of the target style, rejected a broken version of it
    (:mod:`augment.corrupt`): the same text looping on its last clause, or the same length
    of talk off the picture; and, when SFT samples are given, those of the style's samples
    that fail the ``garbage`` or ``on_topic`` filter. The pair is kept only when the project's
    own filters (:mod:`augment.filters`) pass the chosen text and fail the rejected one.
``disfluent``
    AD style only. Chosen is a real AD transcript, rejected the same transcript said fluently
    (:func:`augment.degrade.smooth`: fillers, immediate repetitions and trailing-offs taken
    out). Nothing else differs, so the pair is about the disfluencies of AD speech and nothing
    of its content. Why: a repeated word or phrase ('the the', 'so the so the') is among the
    markers that best separate AD from HC, and a small generator tuned on AD text writes
    almost none. Why AD only: HC speakers say uh and um too, and an HC pair of this kind
    would teach HC a fluency real HC speech does not have.

Strategies apply to every style, or per style (``strategies={"ad": ["disfluent", "broken"],
"hc": ["real", "degraded", "broken"]}``), when one style's generator needs other lessons than
the other's.

How far a text is from a style is measured on the :class:`~augment.style_axis.StyleAxis`
fitted to the given transcripts (positive is AD-like). A pair's margin is how much
further toward the target style the chosen text lies than the rejected one; pairs under
``min_margin`` are dropped and counted, as are exact duplicates.

``broken`` pairs are about staying on the picture and not looping, not about style, so
the style axis cannot judge them (an off-topic text can lie on either side of it). Their
margin (``margin_kind`` ``"filter"``) is the gain, chosen over rejected, in the score of
the filter the rejected text fails: the drop in the share of repeated word 3-grams for a
loop, the gain in information-unit coverage for a drift; both are fractions in [0, 1].
Pairs whose filters do not come out as intended are dropped and counted
(``dropped_filter``).

``broken`` serves AD as well as HC. AD speech repeats words and phrases and leaves the
picture now and then, so a loop or drift penalty must not teach the AD style to be fluent
or exhaustive. It does not: the broken text is made from the chosen AD transcript itself
(its fillers, repetitions and vague words stay; a drift keeps its filler rate), and it goes
far past anything real AD speech does (every AD transcript of the simulated cohort passes
both filters: its least IU coverage is about 0.2, twice the on_topic floor), so what the
pair separates is a degenerate loop or a text with no picture in it, nothing between.

Markers are always computed from the verbatim rendering (what generators write), via
:func:`detect.markers.verbatim_markers`, so real, degraded and generated texts are
measured the same way.

Files: one :class:`PreferencePair` per JSONL line, and ``<name>.summary.json`` beside it.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass as config_dataclass

from augment.corrupt import CORRUPTIONS
from augment.degrade import DegradeConfig, degrade, smooth
from augment.filters import FilterConfig, garbage_verdict, on_topic_verdict, repeated_ngram_share
from augment.prompts import PROMPT_VERSION, STYLE_LABEL, STYLES, Mode, PromptDesign, Style, spoken_words, task_messages
from augment.style_axis import STYLE_MARKERS, StyleAxis
from detect.errors import CorpusError, UserError
from detect.hashing import digest
from detect.io import read_jsonl, write_atomic, write_jsonl
from detect.markers import real_verbatim, verbatim_markers
from detect.records import Transcript

logger = logging.getLogger(__name__)

Strategy = Literal["real", "degraded", "generated", "broken", "disfluent"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


class PairsError(UserError):
    """Pairs cannot be built from the given input (too few transcripts of a style, ...)."""


# -- records --------------------------------------------------------------------------------------


class MarkerDeltas(BaseModel):
    """Chosen minus rejected, per margin marker (raw units: coverage fraction, words, ratio, rate)."""

    model_config = ConfigDict(frozen=True)

    iu_coverage: float
    words: float
    pronoun_ratio: float
    disfluency_rate: float
    loop_share: float | None = Field(
        default=None, description="Share of repeated word 3-grams (None: a file from before it was recorded)."
    )


class PreferencePair(BaseModel):
    """One DPO example: a prompt, the preferred and the dispreferred description, and why."""

    model_config = ConfigDict(frozen=True)

    id: str
    style: Style = Field(description="The style the pair teaches: chosen is closer to it.")
    mode: Mode
    strategy: Strategy
    prompt: list[dict[str, str]] = Field(description="Chat messages (system, user).")
    chosen: str = Field(description="Verbatim text.")
    rejected: str = Field(description="Verbatim text.")
    chosen_source: str = Field(description="Transcript id, 'degraded:<id>' or 'sample:<n>'.")
    rejected_source: str
    deltas: MarkerDeltas
    margin: float = Field(
        description="Style-axis distance, chosen minus rejected, toward the target style; "
        "for margin_kind 'filter', the gain in the failed filter's score."
    )
    margin_kind: Literal["style_axis", "filter"] = "style_axis"


class PairsSummary(BaseModel):
    """What a pairs file holds and what was left out, for logs and MLflow."""

    pairs: int
    by_style_strategy: dict[str, int]
    dropped_margin: dict[str, int]
    dropped_duplicates: int
    mean_margin: dict[str, float]
    dropped_filter: dict[str, int] = Field(
        default_factory=dict, description="Broken pairs whose filters did not come out as intended."
    )
    margin_kind: dict[str, str] = Field(default_factory=dict, description="What each group's margin measures.")
    mean_deltas: dict[str, dict[str, float]]
    transcripts: dict[str, int]
    data_digest: str
    config: dict[str, Any]
    axis: dict[str, dict[str, float]]
    prompt_version: str = PROMPT_VERSION


# -- configuration ---------------------------------------------------------------------------------


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
            if "disfluent" in self.strategies.get("hc", ()):
                raise ValueError("the disfluent strategy makes AD pairs only; take it out of the hc list")
        elif not self.strategies:
            raise ValueError("strategies is empty; name at least one of " + ", ".join(STRATEGIES))
        elif not any(self.styles_for(strategy) for strategy in self.strategies):
            raise ValueError(
                f"strategies {list(self.strategies)} make no pairs for style(s) {list(self.styles)}: "
                "disfluent makes AD pairs only; add another strategy"
            )

    def styles_for(self, strategy: Strategy) -> list[Style]:
        """The styles that get ``strategy``'s pairs, in ``styles`` order."""
        if isinstance(self.strategies, dict):
            styles = [s for s in self.styles if strategy in self.strategies.get(s, ())]
        else:
            styles = list(self.styles) if strategy in self.strategies else []
        return [s for s in styles if s == "ad"] if strategy == "disfluent" else styles


@dataclass
class PairSet:
    pairs: list[PreferencePair]
    summary: PairsSummary


# -- building ---------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    style: Style
    strategy: Strategy
    chosen: str
    rejected: str
    chosen_source: str
    rejected_source: str


def _pair_id(style: str, prompt: list[dict[str, str]], chosen: str, rejected: str) -> str:
    return digest([style, prompt, chosen, rejected], 16)


def build_pairs(
    transcripts: Iterable[Transcript],
    config: PairConfig | None = None,
    *,
    samples: Mapping[str, Sequence[str]] | None = None,
    extractor: Any = None,
    design: PromptDesign | None = None,
) -> PairSet:
    """Preference pairs from ``transcripts`` (labelled AD/HC) and, for ``generated``, SFT ``samples``.

    Parameters
    ----------
    transcripts
        The only real text used; pass one fold's training speakers, never test speakers.
    config
        Strategies, styles, margins; see :class:`PairConfig`.
    samples
        Style -> verbatim descriptions sampled from that style's SFT model; required when
        ``generated`` is among the strategies.
    extractor
        A :class:`detect.markers.MarkerExtractor` to reuse (its cache), else a new one.
    design
        The generator's prompt design (default: the fixed prompt), drawn per pair (length: the chosen's).
    """
    config = config or PairConfig()
    transcripts = [t for t in transcripts if t.label is not None and real_verbatim(t).strip()]
    by_style = {s: [t for t in transcripts if t.label == STYLE_LABEL[s]] for s in STYLES}
    for style in STYLES:
        if len(by_style[style]) < config.min_transcripts:
            raise PairsError(
                f"only {len(by_style[style])} {STYLE_LABEL[style].value} transcripts with text; pairs need at least "
                f"{config.min_transcripts} of each label (give more transcripts or lower min_transcripts)"
            )
    missing = [s for s in config.styles_for("generated") if not (samples or {}).get(s)]
    if missing:
        raise PairsError(
            f"the 'generated' strategy needs SFT samples for style(s) {missing}; train SFT first "
            "or drop 'generated' from the strategies"
        )
    rng = random.Random(config.seed)

    candidates: list[_Candidate] = []
    if styles := config.styles_for("real"):
        candidates += _real_candidates(by_style, styles, config, rng)
    if styles := config.styles_for("degraded"):
        candidates += _degraded_candidates(by_style["hc"], styles, config, rng)
    if styles := config.styles_for("generated"):
        candidates += _generated_candidates(by_style, samples or {}, styles, rng)
    if styles := config.styles_for(
        "broken"
    ):  # its own draws: adding it leaves the other strategies' pairs as they were
        candidates += _broken_candidates(
            by_style, samples or {}, styles, config, random.Random(f"broken/{config.seed}")
        )
    if "ad" in config.styles_for("disfluent"):
        candidates += _disfluent_candidates(by_style["ad"])

    # One marker pass over every distinct text: the extractor batches and caches.
    texts = list(
        dict.fromkeys(
            [
                *(real_verbatim(t) for t in transcripts),
                *(c.chosen for c in candidates),
                *(c.rejected for c in candidates),
            ]
        )
    )
    frame = verbatim_markers(texts, extractor)
    rows = {text: frame.iloc[i] for i, text in enumerate(texts)}
    axis = StyleAxis.fit(
        frame.iloc[[texts.index(real_verbatim(t)) for t in by_style["ad"]]],
        frame.iloc[[texts.index(real_verbatim(t)) for t in by_style["hc"]]],
    )

    filters = FilterConfig()
    pairs: list[PreferencePair] = []
    seen: set[str] = set()
    dropped_margin: Counter[str] = Counter()
    dropped_filter: Counter[str] = Counter()
    duplicates = 0
    for c in candidates:
        key = f"{c.style}/{c.strategy}"
        prompt = task_messages(
            c.style, config.mode, design, key=[c.chosen_source, c.rejected_source], words=spoken_words(c.chosen)
        )
        pair_id = _pair_id(c.style, prompt, c.chosen, c.rejected)
        if pair_id in seen or c.chosen == c.rejected:
            duplicates += 1
            continue
        chosen_row, rejected_row = rows[c.chosen], rows[c.rejected]
        if c.strategy == "broken":
            margin = _filter_margin(c, chosen_row, rejected_row, filters)
            if margin is None:
                dropped_filter[key] += 1
                continue
        else:
            margin = axis.toward(c.style, chosen_row, rejected_row)
            if margin < config.min_margin:
                dropped_margin[key] += 1
                continue
        seen.add(pair_id)
        deltas = MarkerDeltas(
            **{m: float(chosen_row[m] - rejected_row[m]) for m in STYLE_MARKERS},
            loop_share=repeated_ngram_share(c.chosen) - repeated_ngram_share(c.rejected),
        )
        pairs.append(
            PreferencePair(
                id=pair_id,
                style=c.style,
                mode=config.mode,
                strategy=c.strategy,
                prompt=prompt,
                chosen=c.chosen,
                rejected=c.rejected,
                chosen_source=c.chosen_source,
                rejected_source=c.rejected_source,
                deltas=deltas,
                margin=round(margin, 6),
                margin_kind="filter" if c.strategy == "broken" else "style_axis",
            )
        )
    pairs = _cap(pairs, config.max_pairs_per_strategy, rng)
    summary = summarize(
        pairs,
        dropped_margin=dropped_margin,
        dropped_duplicates=duplicates,
        transcripts=transcripts,
        config=config,
        axis=axis,
        dropped_filter=dropped_filter,
    )
    logger.info(
        "built %d pairs (%s); dropped %d under the margin, %d by the filters, %d duplicates",
        len(pairs),
        summary.by_style_strategy,
        sum(dropped_margin.values()),
        sum(dropped_filter.values()),
        duplicates,
    )
    return PairSet(pairs=pairs, summary=summary)


def _real_candidates(
    by_style: dict[Style, list[Transcript]], styles: Sequence[Style], config: PairConfig, rng: random.Random
) -> list[_Candidate]:
    out = []
    for style in styles:
        other: Style = "hc" if style == "ad" else "ad"
        for chosen in by_style[style]:
            k = min(config.rejected_per_chosen, len(by_style[other]))
            for rejected in rng.sample(by_style[other], k):
                out.append(
                    _Candidate(style, "real", real_verbatim(chosen), real_verbatim(rejected), chosen.id, rejected.id)
                )
    return out


def _degraded_candidates(
    hc: list[Transcript], styles: Sequence[Style], config: PairConfig, rng: random.Random
) -> list[_Candidate]:
    degrade_config = DegradeConfig(intensity=config.degrade_intensity)
    out = []
    for t in hc:
        original = real_verbatim(t)
        for _ in range(config.degraded_per_transcript):
            degraded = degrade(original, degrade_config, seed=rng.randrange(2**31)).text
            source = f"degraded:{t.id}"
            if "ad" in styles:
                out.append(_Candidate("ad", "degraded", degraded, original, source, t.id))
            if "hc" in styles:
                out.append(_Candidate("hc", "degraded", original, degraded, t.id, source))
    return out


def _generated_candidates(
    by_style: dict[Style, list[Transcript]],
    samples: Mapping[str, Sequence[str]],
    styles: Sequence[Style],
    rng: random.Random,
) -> list[_Candidate]:
    out = []
    for style in styles:
        for i, sample in enumerate(samples.get(style, ())):
            if not sample.strip():
                continue
            chosen = rng.choice(by_style[style])
            out.append(_Candidate(style, "generated", real_verbatim(chosen), sample, chosen.id, f"sample:{style}:{i}"))
    return out


def _broken_candidates(
    by_style: dict[Style, list[Transcript]],
    samples: Mapping[str, Sequence[str]],
    styles: Sequence[Style],
    config: PairConfig,
    rng: random.Random,
) -> list[_Candidate]:
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
            out.append(_Candidate(style, "broken", original, broken, t.id, f"{kind}:{t.id}"))
        for i, sample in enumerate(samples.get(style, ())):
            if sample.strip():
                t = rng.choice(by_style[style])
                out.append(_Candidate(style, "broken", real_verbatim(t), sample, t.id, f"sample:{style}:{i}"))
    return out


def _disfluent_candidates(ad: list[Transcript]) -> list[_Candidate]:
    out = []
    for t in ad:
        original = real_verbatim(t)
        fluent = smooth(original)
        if fluent != original:
            out.append(_Candidate("ad", "disfluent", original, fluent, t.id, f"smooth:{t.id}"))
    return out


def _filter_margin(c: _Candidate, chosen_row: Any, rejected_row: Any, filters: FilterConfig) -> float | None:
    """The gain in the score of the filter the rejected text fails, or None when the filters disagree with the pair."""
    chosen_ok = garbage_verdict(c.chosen, filters).passed and on_topic_verdict(dict(chosen_row), filters).passed
    if not chosen_ok:
        return None
    if not garbage_verdict(c.rejected, filters).passed:
        gain = repeated_ngram_share(c.rejected, filters.loop_ngram) - repeated_ngram_share(c.chosen, filters.loop_ngram)
    elif not on_topic_verdict(dict(rejected_row), filters).passed:
        gain = float(chosen_row["iu_coverage"] - rejected_row["iu_coverage"])
    else:
        return None
    return gain if gain > 0 else None


def _cap(pairs: list[PreferencePair], cap: int | None, rng: random.Random) -> list[PreferencePair]:
    if cap is None:
        return pairs
    groups: dict[str, list[PreferencePair]] = {}
    for p in pairs:
        groups.setdefault(f"{p.style}/{p.strategy}", []).append(p)
    keep: set[str] = set()
    for members in groups.values():
        chosen = members if len(members) <= cap else rng.sample(members, cap)
        keep.update(p.id for p in chosen)
    return [p for p in pairs if p.id in keep]


def summarize(
    pairs: Sequence[PreferencePair],
    *,
    dropped_margin: Mapping[str, int] | None = None,
    dropped_duplicates: int = 0,
    transcripts: Sequence[Transcript] = (),
    config: PairConfig | None = None,
    axis: StyleAxis | None = None,
    dropped_filter: Mapping[str, int] | None = None,
) -> PairsSummary:
    groups: dict[str, list[PreferencePair]] = {}
    for p in pairs:
        groups.setdefault(f"{p.style}/{p.strategy}", []).append(p)
    from detect.records import Corpus

    return PairsSummary(
        pairs=len(pairs),
        by_style_strategy={k: len(v) for k, v in sorted(groups.items())},
        dropped_margin=dict(sorted((dropped_margin or {}).items())),
        dropped_duplicates=dropped_duplicates,
        mean_margin={k: round(sum(p.margin for p in v) / len(v), 4) for k, v in sorted(groups.items())},
        dropped_filter=dict(sorted((dropped_filter or {}).items())),
        margin_kind={k: "+".join(sorted({p.margin_kind for p in v})) for k, v in sorted(groups.items())},
        mean_deltas={k: _mean_deltas(v) for k, v in sorted(groups.items())},
        transcripts={s: sum(1 for t in transcripts if t.label == STYLE_LABEL[s]) for s in STYLES},
        data_digest=Corpus(transcripts).digest() if transcripts else "",
        config=json.loads(json.dumps(asdict(config))) if config else {},  # tuples -> lists, as read back
        axis={"weights": axis.weights(), "mean_ad": axis.mean_ad, "mean_hc": axis.mean_hc} if axis else {},
    )


def _mean_deltas(pairs: Sequence[PreferencePair]) -> dict[str, float]:
    out = {m: round(sum(getattr(p.deltas, m) for p in pairs) / len(pairs), 4) for m in STYLE_MARKERS}
    loops = [p.deltas.loop_share for p in pairs if p.deltas.loop_share is not None]
    if loops:
        out["loop_share"] = round(sum(loops) / len(loops), 4)
    return out


# -- files ------------------------------------------------------------------------------------------


def summary_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name.removesuffix(".jsonl") + ".summary.json")


def write_pairs(path: str | Path, pairs: Iterable[PreferencePair], summary: PairsSummary | None = None) -> Path:
    """Writes pairs as JSONL (atomically: a temp file renamed into place) and the summary beside it."""
    pairs = list(pairs)
    write_jsonl(path, (p.model_dump_json() for p in pairs))
    summary = summary or summarize(pairs)
    write_atomic(summary_path(path), summary.model_dump_json(indent=2) + "\n")
    return Path(path)


def read_samples(path: str | Path, *, stage: str | None = "sft") -> dict[str, list[str]]:
    """Style -> texts from a samples JSONL (``{"style": "ad", "text": ...}`` per line, as training writes).

    Lines with a ``stage`` other than ``stage`` are skipped (``None`` keeps all).
    """
    fix = 'each line needs {"style": "ad"|"hc", "text": "..."}'
    out: dict[str, list[str]] = {}
    for number, data in read_jsonl(path, fix=fix):
        if not isinstance(data, dict) or data.get("style") not in STYLES or not isinstance(data.get("text"), str):
            raise CorpusError(path, "not a sample record", line=number, fix=fix)
        if stage is not None and data.get("stage", stage) != stage:
            continue
        out.setdefault(data["style"], []).append(data["text"])
    return out
