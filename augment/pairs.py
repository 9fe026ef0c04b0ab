"""Preference pairs for DPO: what to prefer, built only from the transcripts given.

Five strategies, selectable and combinable (:class:`~augment.pair_config.PairConfig` ``strategies``;
their candidates are made in :mod:`augment.pair_strategies`):

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
    Chosen is a real transcript of the target style, rejected the same transcript said
    fluently (:func:`augment.degrade.smooth`: fillers, pauses, corrections, immediate
    repetitions and trailing-offs taken out). Nothing else differs, so the pair is about the
    hesitations of real speech and nothing of its content. Why: a small generator tuned a few
    SFT steps writes far fewer hesitations than the speakers it learned from, HC's as well
    as AD's (real HC speakers hesitate at 0.06 per word); a pair of a speaker's own words
    teaches each style its own rate, not the other style's. Its margin (``margin_kind``
    ``"disfluency"``) is the disfluencies per word the fluent version lost: the style axis
    cannot judge it, since for HC the chosen text is the more AD-like of the two.

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

Files (:mod:`augment.pair_files`): one :class:`~augment.pair_files.PreferencePair` per JSONL line, and
``<name>.summary.json`` beside it.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from augment.filters import FilterConfig, garbage_verdict, on_topic_verdict, repeated_ngram_share
from augment.pair_config import PairConfig
from augment.pair_files import MarkerDeltas, PairsSummary, PreferencePair, summarize
from augment.pair_strategies import (
    Candidate,
    broken_candidates,
    degraded_candidates,
    disfluent_candidates,
    generated_candidates,
    real_candidates,
)
from augment.prompts import STYLE_LABEL, STYLES, PromptDesign, spoken_words, task_messages
from augment.style_axis import STYLE_MARKERS, StyleAxis
from detect.errors import UserError
from detect.hashing import digest
from detect.markers import real_verbatim, verbatim_markers
from detect.records import Transcript

logger = logging.getLogger(__name__)

# What a pair's margin measures, by strategy: the style axis for the rest.
MARGIN_KIND = {"broken": "filter", "disfluent": "disfluency"}


class PairsError(UserError):
    """Pairs cannot be built from the given input (too few transcripts of a style, ...)."""


@dataclass
class PairSet:
    pairs: list[PreferencePair]
    summary: PairsSummary


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
        Strategies, styles, margins; see :class:`~augment.pair_config.PairConfig`.
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

    candidates: list[Candidate] = []
    if styles := config.styles_for("real"):
        candidates += real_candidates(by_style, styles, config, rng)
    if styles := config.styles_for("degraded"):
        candidates += degraded_candidates(by_style["hc"], styles, config, rng)
    if styles := config.styles_for("generated"):
        candidates += generated_candidates(by_style, samples or {}, styles, rng)
    if styles := config.styles_for(
        "broken"
    ):  # its own draws: adding it leaves the other strategies' pairs as they were
        candidates += broken_candidates(by_style, samples or {}, styles, config, random.Random(f"broken/{config.seed}"))
    if styles := config.styles_for("disfluent"):
        candidates += disfluent_candidates(by_style, styles)

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
        elif c.strategy == "disfluent":
            margin = float(chosen_row["disfluency_rate"] - rejected_row["disfluency_rate"])
            if margin <= 0:
                dropped_margin[key] += 1
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
                margin_kind=MARGIN_KIND.get(c.strategy, "style_axis"),
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


def _filter_margin(c: Candidate, chosen_row: Any, rejected_row: Any, filters: FilterConfig) -> float | None:
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
