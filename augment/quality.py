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
  scene texts a prompt shows (:func:`scene_reuse`), beside the same share for the real
  class's transcripts (a real speaker says "the water is overflowing" too, so the real level
  is the bar, not 0); and the *vocabulary divergence*, the Jensen-Shannon divergence of the
  word distribution against the real class's (:func:`vocabulary_divergence`), beside the
  range real samples of the same size show against the rest of their class;
- **utility** (per generator, over both styles): TSTR against TRTR for ``tfidf`` and
  ``markers``: F1 on the same real test speakers of a detector trained on synthetic data
  only, and of one trained on the real training transcripts; their ratio.

Everything measured on synthetic text uses the records that pass the filters: that is
what augmentation would train on. The result is a :class:`QualityReport` (pydantic): JSON
for files and MLflow, one flat row per generator x style (:meth:`QualityReport.frame`),
Markdown for reports.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel

from augment.filters import (
    FilterConfig,
    apply_filters,
    content_words,
    ngrams,
    select,
    shares_a_run_with_another_speaker,
    words,
)
from augment.prompts import CONDITIONAL_UNIT, SCENE, SCENE_KEYWORDS, STYLE_LABEL, STYLES, Style
from augment.synthetic import SyntheticDescription
from detect.classifiers.base import Detector
from detect.diversity import REAL_SAMPLES, distinct_n, real_range, self_similarity
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
UTILITY_DETECTORS: tuple[str, ...] = ("tfidf", "markers")
STYLE_DETECTOR = "markers"


# -- results ----------------------------------------------------------------------------------


class MarkerDistance(BaseModel):
    """One marker of one style's synthetic records against the real class."""

    marker: str
    synthetic_mean: float
    real_mean: float
    real_sd: float
    distance: float  # (synthetic_mean - real_mean) / real_sd; NaN when the real SD is 0 or unknown


class TrainTest(BaseModel):
    """Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR), same test speakers."""

    detector: str
    tstr_f1: float
    trtr_f1: float
    ratio: float  # tstr_f1 / trtr_f1: 1 means synthetic data teaches as much as real data
    splits: int  # test sets averaged over


class StyleQuality(BaseModel):
    style: Style
    records: int
    passed: int  # records kept: they pass the filters (and won their best-of-n draw, if one was held)
    pass_rate: float  # share of records that pass the filters, before any best-of-n draw
    privacy_rejected: int  # near-copies of a training transcript among all records (candidates)
    near_copy_rate: float = float("nan")  # privacy_rejected / records judged for privacy
    near_copy_rate_real: float = float("nan")  # real class transcripts sharing such a run with another speaker's
    style_accuracy: float
    markers: list[MarkerDistance]
    distinct_2: float
    distinct_2_real: tuple[float, float]
    self_similarity: float
    self_similarity_real: tuple[float, float]
    scene_reuse: float = float("nan")  # mean share of a kept record's word 4-grams found in the scene texts
    scene_reuse_real: float = float("nan")  # the same for the real class's transcripts
    vocabulary_divergence: float = float("nan")  # JS divergence (bits) of word distributions, kept vs real class
    vocabulary_divergence_real: tuple[float, float] = (float("nan"), float("nan"))  # real samples vs the rest


class GeneratorQuality(BaseModel):
    generator: str
    required: tuple[str, ...]  # the verdicts a record had to pass
    styles: list[StyleQuality]
    utility: list[TrainTest]


class QualityReport(BaseModel):
    """The report: per generator, per style; ``test`` says which real speakers TSTR/TRTR were tested on."""

    generators: list[GeneratorQuality]
    test: str
    filters: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        """One row per generator x style; utility columns repeat the generator's values."""
        rows = []
        for g in self.generators:
            for s in g.styles:
                row = {
                    "generator": g.generator,
                    "style": s.style.upper(),
                    "records": s.records,
                    "passed": s.passed,
                    "pass_rate": s.pass_rate,
                    "privacy_rejected": s.privacy_rejected,
                    "near_copy_rate": s.near_copy_rate,
                    "near_copy_rate_real": s.near_copy_rate_real,
                    "style_accuracy": s.style_accuracy,
                }
                row |= {f"d_{m.marker}": m.distance for m in s.markers}
                row |= {
                    "distinct_2": s.distinct_2,
                    "distinct_2_real_low": s.distinct_2_real[0],
                    "distinct_2_real_high": s.distinct_2_real[1],
                    "self_similarity": s.self_similarity,
                    "self_similarity_real_low": s.self_similarity_real[0],
                    "self_similarity_real_high": s.self_similarity_real[1],
                    "scene_reuse": s.scene_reuse,
                    "scene_reuse_real": s.scene_reuse_real,
                    "vocabulary_divergence": s.vocabulary_divergence,
                    "vocabulary_divergence_real_low": s.vocabulary_divergence_real[0],
                    "vocabulary_divergence_real_high": s.vocabulary_divergence_real[1],
                }
                for u in g.utility:
                    row |= {
                        f"tstr_f1_{u.detector}": u.tstr_f1,
                        f"trtr_f1_{u.detector}": u.trtr_f1,
                        f"tstr_ratio_{u.detector}": u.ratio,
                    }
                rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self) -> dict[str, float]:
        """Flat metric names for MLflow: ``quality/<generator>/<style>/<column>``."""
        out: dict[str, float] = {}
        for row in self.frame().to_dict("records"):
            prefix = f"quality/{_metric_safe(row['generator'])}/{row['style']}"
            out |= {f"{prefix}/{k}": v for k, v in row.items() if k not in ("generator", "style")}
        return out

    def markdown(self) -> str:
        """A short table per generator x style, and the marker means behind the distances."""
        frame = self.frame()
        lines = [f"Filters required: {', '.join(self.filters)}. TSTR/TRTR tested on {self.test}.", ""]
        lines += [
            f"{g.generator} had to pass {', '.join(g.required)}." for g in self.generators if g.required != self.filters
        ]
        if frame.empty:
            return "\n".join([*lines, "No synthetic records."])
        lines += [frame.to_markdown(index=False, floatfmt=".3f"), "", "Marker means (synthetic vs real class):", ""]
        marker_rows = [
            {
                "generator": g.generator,
                "style": s.style.upper(),
                "marker": m.marker,
                "synthetic": m.synthetic_mean,
                "real": m.real_mean,
                "real sd": m.real_sd,
                "distance (sd)": m.distance,
            }
            for g in self.generators
            for s in g.styles
            for m in s.markers
        ]
        lines.append(pd.DataFrame(marker_rows).to_markdown(index=False, floatfmt=".3f"))
        return "\n".join(lines) + "\n"


def _metric_safe(name: str) -> str:
    # MLflow metric names allow letters, digits, _ - . space : and /
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in name)


# -- inputs -----------------------------------------------------------------------------------


@dataclass
class Split:
    """One real train/test split, and the synthetic training data that stands in for ``train``."""

    train: Sequence[Transcript]
    test: Sequence[Transcript]
    synthetic: Sequence[Transcript]


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


# -- realism of wording -----------------------------------------------------------------------

SCENE_NGRAM = 4


@functools.cache
def _scene_ngrams(n: int) -> frozenset[tuple[str, ...]]:
    """Word n-grams of every scene text a prompt can show: the prose, and each keyword on its own
    (a shuffled list has no fixed neighbours)."""
    return frozenset(gram for text in (SCENE, *SCENE_KEYWORDS) for gram in ngrams(content_words(text), n))


def scene_reuse(text: str, n: int = SCENE_NGRAM) -> float:
    """Share of the text's word ``n``-grams (fillers out, repeats collapsed, as the privacy filter reads)
    that the scene texts of the prompts hold; NaN for a text shorter than ``n`` words.

    >>> scene_reuse("uh the water overflows onto the floor and the boy")
    0.5
    """
    grams = ngrams(content_words(text), n)
    return sum(g in _scene_ngrams(n) for g in grams) / len(grams) if grams else float("nan")


def _unigrams(texts: Sequence[str]) -> Counter[str]:
    return Counter(w for t in texts for w in words(t))


def vocabulary_divergence(texts: Sequence[str], reference: Sequence[str]) -> float:
    """Jensen-Shannon divergence, in bits (0: the same distribution, 1: no word shared), of the word
    unigram distribution of ``texts`` against that of ``reference``; NaN when either has no words.

    >>> vocabulary_divergence(["the boy"], ["the boy"]), vocabulary_divergence(["a b"], ["c d"])
    (0.0, 1.0)
    """
    p, q = _unigrams(texts), _unigrams(reference)
    n_p, n_q = sum(p.values()), sum(q.values())
    if not n_p or not n_q:
        return float("nan")
    total = 0.0
    for w in p.keys() | q.keys():
        a, b = p[w] / n_p, q[w] / n_q
        m = (a + b) / 2
        total += (a * math.log2(a / m) if a else 0.0) + (b * math.log2(b / m) if b else 0.0)
    return max(0.0, total / 2)


def real_vocabulary_divergence(
    real: Sequence[str], size: int, *, samples: int = REAL_SAMPLES, seed: int = 0
) -> tuple[float, float]:
    """(min, max) divergence of ``size`` random real texts against the rest of their class: how far a real
    sample of that size lies from its class by chance (the divergence grows as samples shrink).
    NaN when the class has too few texts to hold out ``size`` and keep as many."""
    size = min(size, len(real) // 2)
    if size < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        chosen = set(rng.choice(len(real), size=size, replace=False).tolist())
        values.append(
            vocabulary_divergence([real[i] for i in chosen], [t for i, t in enumerate(real) if i not in chosen])
        )
    return min(values), max(values)


def _mean(values) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def train_test(
    splits: Sequence[Split], detectors: Sequence[str] = UTILITY_DETECTORS, seed: int = 0, trtr_cache: dict | None = None
) -> list[TrainTest]:
    """TSTR and TRTR F1 per detector, each the mean over the splits whose synthetic data has both classes.

    ``trtr_cache``: TRTR F1 by (detector, train ids, test ids), shared across generators, which
    are tested on the same real splits (a benchmark's conditions)."""
    from detect.classifiers import make_detector
    from detect.metrics import binary_metrics

    trtr_cache = {} if trtr_cache is None else trtr_cache

    usable = [s for s in splits if {t.label for t in s.synthetic} >= {Label.AD, Label.HC} and len(s.test)]
    out = []
    for name in detectors:
        tstr, trtr = [], []
        for split in usable:
            y = [1 if t.label == Label.AD else 0 for t in split.test]
            synthetic_detector = make_detector(name, seed=seed).fit(list(split.synthetic))
            tstr.append(binary_metrics(y, synthetic_detector.p_ad(list(split.test)))["f1"])
            key = (name, tuple(t.id for t in split.train), tuple(t.id for t in split.test))
            if key not in trtr_cache:
                real_detector = make_detector(name, seed=seed).fit(list(split.train))
                trtr_cache[key] = binary_metrics(y, real_detector.p_ad(list(split.test)))["f1"]
            trtr.append(trtr_cache[key])
        a = float(np.mean(tstr)) if tstr else float("nan")
        b = float(np.mean(trtr)) if trtr else float("nan")
        out.append(TrainTest(detector=name, tstr_f1=a, trtr_f1=b, ratio=a / b if b else float("nan"), splits=len(tstr)))
    return out


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


def evaluation_splits(corpus: Sequence[Transcript], *, folds: int = 5, seed: int = 0) -> tuple[list[Split], str]:
    """The corpus's own test split when it has one with both classes, else speaker-grouped folds."""
    from detect import cv
    from detect.records import Corpus

    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    train, test = corpus.by_split("train"), corpus.by_split("test")
    if {t.label for t in test} >= {Label.AD, Label.HC} and {t.label for t in train} >= {Label.AD, Label.HC}:
        return [Split(list(train), list(test), [])], f"the corpus test split ({len(test.speakers())} speakers)"
    corpus = cv.evaluable(corpus)
    made = cv.speaker_folds(corpus, n_splits=folds, seed=seed)
    return (
        [
            Split(list(corpus.by_speakers(f.train_speakers)), list(corpus.by_speakers(f.test_speakers)), [])
            for f in made
        ],
        f"{folds} speaker-grouped folds of the corpus",
    )


def real_reference(corpus: Sequence[Transcript]) -> list[Transcript]:
    """The real transcripts a report compares with: the training split when there is one."""
    train = [t for t in corpus if t.split == "train" and t.label is not None]
    return train if {t.label for t in train} >= {Label.AD, Label.HC} else [t for t in corpus if t.label is not None]
