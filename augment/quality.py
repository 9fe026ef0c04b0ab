"""How good are synthetic descriptions, apart from what they do to one benchmark cell?

One implementation, two callers: ``cookiebench augment evaluate SYNTH.jsonl`` and the
benchmark's report (:mod:`eval.quality` hands it each condition's records and folds).
Per generator and style, :func:`quality_report` measures

- **filters**: records, how many pass the filters (the records' own verdicts when every
  record has them, else :func:`augment.filters.apply_filters` is run), privacy rejections;
- **fidelity**: each marker of :data:`QUALITY_MARKERS` (:mod:`detect.markers`) as the
  synthetic mean against the real class mean, and their distance in real class standard
  deviations, signed: ``(synthetic - real) / real sd`` (-1: one SD too low);
- **style accuracy**: the share of the style's records that a ``markers`` detector trained
  on the real transcripts labels as the style's class (AD style -> AD);
- **memorisation**: near-copies of training transcripts (the privacy filter's verdict: a run
  of ``privacy_ngram`` words shared with one) among *all* candidates written, kept or not,
  as a rate, beside the real level: the share of the real class's transcripts that share
  such a run with another speaker's (a task this constrained has common phrases);
- **diversity**: distinct-2 and self-similarity, against the range the real class shows
  over random samples of the same size (both depend on how many texts there are);
- **realism of wording**: *scene reuse*, the share of a text's word 4-grams found in the
  scene texts a prompt shows (:func:`augment.wording.scene_reuse`), beside the same share for the real
  class's transcripts (a real speaker says "the water is overflowing" too, so the real level
  is the bar, not 0); and the *vocabulary divergence*, the Jensen-Shannon divergence of the
  word distribution against the real class's (:func:`augment.wording.vocabulary_divergence`), beside the
  range real samples of the same size show against the rest of their class;
- **utility** (per generator, over both styles; :mod:`augment.tstr`): TSTR against TRTR for ``tfidf`` and
  ``markers``: F1 on the same real test speakers of a detector trained on synthetic data
  only, and of one trained on the real training transcripts; their ratio.

Everything measured on synthetic text uses the records that pass the filters: that is
what augmentation would train on. The result is a :class:`~augment.quality_results.QualityReport` (pydantic): JSON
for files and MLflow, one flat row per generator x style (:meth:`~augment.quality_results.QualityReport.frame`),
Markdown for reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from augment.filters import FilterConfig, apply_filters, select, shares_a_run_with_another_speaker
from augment.prompts import CONDITIONAL_UNIT, STYLE_LABEL, STYLES, Style
from augment.quality_results import GeneratorQuality, MarkerDistance, QualityReport, StyleQuality
from augment.synthetic import SyntheticDescription
from augment.tstr import Split, train_test
from augment.wording import real_vocabulary_divergence, scene_reuse, vocabulary_divergence
from detect.classifiers.base import Detector
from detect.diversity import distinct_n, real_range, self_similarity
from detect.records import Label, Transcript

QUALITY_MARKERS: tuple[str, ...] = (
    "iu_coverage",
    "words",
    "pronoun_ratio",
    "mattr",
    "mean_utterance_length",
    "disfluency_rate",
    "retracing_rate",
    "filler_rate",
)
STYLE_DETECTOR = "markers"


@dataclass
class GeneratorData:
    """What one generator produced (every record, with or without verdicts) and where to test it.

    ``splits``: for TSTR/TRTR; ``None``: one split per test set of the report, with this
    generator's passing records as the synthetic data.
    """

    name: str
    records: Sequence[SyntheticDescription]
    require: tuple[str, ...] | None = None  # verdicts a record must pass; None: the filter config's
    splits: Sequence[Split] | None = None


@dataclass
class _Reference:
    """The real side: marker frame, class means and SDs, texts per class, the style detector."""

    markers: pd.DataFrame
    texts: dict[Label, list[str]]
    style_detector: Detector
    near_copy_rate: dict[Label, float]  # per class: transcripts sharing a privacy run with another speaker's


def _reference(real: Sequence[Transcript], extractor, seed: int, privacy_ngram: int) -> _Reference:
    from detect.classifiers import make_detector

    frame = extractor.transform(list(real))
    frame["label"] = [t.label for t in real]
    detector = make_detector(STYLE_DETECTOR, seed=seed).fit(list(real))
    shared = shares_a_run_with_another_speaker(real, n=privacy_ngram)
    copies = {label: [s for s, t in zip(shared, real, strict=True) if t.label == label] for label in Label}
    return _Reference(
        frame,
        {label: [t.text for t in real if t.label == label] for label in Label},
        detector,
        {label: float(np.mean(c)) if c else float("nan") for label, c in copies.items()},
    )


def _marker_rows(records: Sequence[SyntheticDescription], extractor) -> pd.DataFrame:
    """Markers of each record: its own when the filters stored them, else measured now."""
    if records and all(set(QUALITY_MARKERS) <= set(r.markers) for r in records):
        return pd.DataFrame([r.markers for r in records])
    return extractor.transform([r.to_transcript() for r in records]).reset_index(drop=True)


def _style_quality(
    style: Style,
    records: Sequence[SyntheticDescription],
    passed: Sequence[SyntheticDescription],
    filtered: int,
    ref: _Reference,
    extractor,
    seed: int,
) -> StyleQuality:
    """``passed``: the records kept; ``filtered``: how many passed the filters (more than were kept
    when a best-of-n draw chose among them), which is what ``pass_rate`` reports."""
    label = STYLE_LABEL[style]
    real = ref.markers[ref.markers.label == label]
    synthetic = _marker_rows(passed, extractor)
    distances = []
    for marker in QUALITY_MARKERS:
        syn_mean = float(synthetic[marker].mean()) if len(synthetic) else float("nan")
        real_mean = float(real[marker].mean())
        real_sd = float(real[marker].std(ddof=1)) if len(real) > 1 else float("nan")
        distance = (syn_mean - real_mean) / real_sd if real_sd and not math.isnan(real_sd) else float("nan")
        distances.append(
            MarkerDistance(
                marker=marker, synthetic_mean=syn_mean, real_mean=real_mean, real_sd=real_sd, distance=distance
            )
        )
    transcripts = [r.to_transcript() for r in passed]
    if transcripts:
        predicted = ref.style_detector.predict(transcripts)
        accuracy = float(np.mean([p == (1 if label == Label.AD else 0) for p in predicted]))
    else:
        accuracy = float("nan")
    texts = [t.text for t in transcripts]
    real_texts = ref.texts[label]
    judged = [r for r in records if "privacy" in r.verdicts]
    copies = sum(1 for r in judged if not r.verdicts["privacy"].passed)
    return StyleQuality(
        style=style,
        records=len(records),
        passed=len(passed),
        pass_rate=filtered / len(records) if records else float("nan"),
        privacy_rejected=copies,
        near_copy_rate=copies / len(judged) if judged else float("nan"),
        near_copy_rate_real=ref.near_copy_rate[label],
        style_accuracy=accuracy,
        markers=distances,
        distinct_2=distinct_n(texts, 2),
        distinct_2_real=real_range(real_texts, len(texts), lambda t: distinct_n(t, 2), seed=seed),
        self_similarity=self_similarity(texts, seed=seed),
        self_similarity_real=real_range(real_texts, len(texts), lambda t: self_similarity(t, seed=seed), seed=seed),
        scene_reuse=_mean(scene_reuse(t) for t in texts),
        scene_reuse_real=_mean(scene_reuse(t) for t in real_texts),
        vocabulary_divergence=vocabulary_divergence(texts, real_texts),
        vocabulary_divergence_real=real_vocabulary_divergence(real_texts, len(texts), seed=seed),
    )


def _mean(values) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def quality_report(
    generators: Sequence[GeneratorData],
    real: Sequence[Transcript],
    *,
    test_splits: Sequence[Split] = (),
    test: str = "",
    filters: FilterConfig | None = None,
    privacy_training: Sequence[Transcript] | None = None,
    extractor=None,
    seed: int = 0,
) -> QualityReport:
    """The quality of each generator's records against ``real`` (labelled real transcripts).

    ``real`` gives the class means, SDs and texts and trains the style detector. Records
    without verdicts are filtered here, with ``privacy_training`` (default: ``real``) as the
    transcripts they must not copy. ``test_splits``: the real train/test splits for a
    generator without splits of its own (their ``synthetic`` is ignored); ``test``
    describes them in words.
    """
    if extractor is None:
        from detect.markers import MarkerExtractor

        extractor = MarkerExtractor(show_progress=False)
    filters = filters or FilterConfig()
    real = [t for t in real if t.label is not None]
    ref = _reference(real, extractor, seed, filters.privacy_ngram)
    trtr: dict = {}
    out = []
    for gen in generators:
        records = list(gen.records)
        if records and not all(r.verdicts for r in records):
            records = apply_filters(
                records, config=filters, training=list(privacy_training or real), extractor=extractor
            )
        require = tuple(gen.require or _required(records, filters))
        passed = select(records, require)
        filtered = select(records, require, drawn=False)
        styles = [
            _style_quality(
                style,
                [r for r in records if r.style == style],
                [r for r in passed if r.style == style],
                sum(1 for r in filtered if r.style == style),
                ref,
                extractor,
                seed,
            )
            for style in STYLE_LABEL
            if any(r.style == style for r in records)
        ]
        splits = (
            gen.splits
            if gen.splits is not None
            else [Split(s.train, s.test, [r.to_transcript() for r in passed]) for s in test_splits]
        )
        out.append(
            GeneratorQuality(
                generator=gen.name,
                required=require,
                styles=styles,
                utility=train_test(splits, seed=seed, trtr_cache=trtr),
            )
        )
    return QualityReport(generators=out, test=test, filters=tuple(filters.require))


def _required(records: Sequence[SyntheticDescription], filters: FilterConfig) -> tuple[str, ...]:
    """The verdicts a generator's records must pass: classic copies edit real transcripts and
    fail 'privacy' by design, so for them it is not required (:func:`augment.classic.selection_require`)."""
    from augment.classic import selection_require

    if records and all(r.generator.kind == "classic" for r in records):
        return selection_require(filters.require)
    return tuple(filters.require)


def generator_name(record: SyntheticDescription) -> str:
    """Which generator a record comes from, by what it is: the training stage, the styles and the
    base model (``dpo AD+HC adapters on smollm2-135m-instruct``), or the baseline and its method.

    Named over both styles: a separate-mode pair of adapters (``ad`` and ``hc``, or
    ``<group>-dpo-ad`` and ``<group>-dpo-hc``: ``<group> dpo AD+HC adapters on ...``) is one
    generator. Served merged or as LoRA, an adapter is the same generator. Records written
    before they carried their stage are named without it."""
    info = record.generator
    if info.kind == "classic":
        return "classic"
    base = (info.base_model or "an unknown base model").rstrip("/").rsplit("/", 1)[-1]  # a folder: its name
    if info.kind == "prompt-only":
        return " ".join(filter(None, ["prompt-only", info.method, "on", base]))
    name, styles = info.adapter or "", None
    units: dict[str, str] = {**{style: "AD+HC adapters" for style in STYLES}, CONDITIONAL_UNIT: "conditional adapter"}
    for unit, what in units.items():
        if name == unit or name.endswith(f"-{unit}"):
            name, styles = name.removesuffix(unit).removesuffix("-"), what
            break
    else:  # an adapter named otherwise is a generator of its own
        name, styles = "", f"adapter {name}".strip()
    if info.stage and (name == info.stage or name.endswith(f"-{info.stage}")):
        name = name.removesuffix(info.stage).removesuffix("-")  # a benchmark's <group>-<stage>: said once
    return " ".join(filter(None, [name, info.stage, styles, "on", base]))


def by_generator(records: Sequence[SyntheticDescription]) -> dict[str, list[SyntheticDescription]]:
    """Records grouped by :func:`generator_name`, in order of first appearance."""
    out: dict[str, list[SyntheticDescription]] = {}
    for r in records:
        out.setdefault(generator_name(r), []).append(r)
    return out
