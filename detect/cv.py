"""Speaker-grouped evaluation: repeated stratified K-fold over speakers, or the fixed ADReSS split.

Speakers, not transcripts, are split, so no speaker is ever in both a training and a test set.
Training sets may be extended per fold by ``extra_train`` (later: synthetic descriptions
generated from that fold's training speakers); test sets are real transcripts only, checked
on every fold. From Python::

    from detect.cv import cross_validate

    result = cross_validate(corpus, "tfidf", folds=5, repeats=3)
    print(result.summary_frame())

or tracked in MLflow (parent run, one child per fold and seed)::

    result, run_id = run_cv(corpus, "bert", folds=5, repeats=3)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from detect.classifiers import make_detector, preflight
from detect.classifiers.base import params_to_json
from detect.classifiers.threshold import ThresholdRule, choose_threshold
from detect.errors import CorpusError
from detect.metrics import DEFAULT_THRESHOLD, METRICS, FoldMetrics, MetricSummary, aggregate, binary_metrics
from detect.records import Corpus, Label, Transcript

logger = logging.getLogger(__name__)

ExtraTrain = Callable[[Corpus], Sequence[Transcript]]
PROTOCOLS: tuple[str, ...] = ("kfold", "adress")


class LeakageError(RuntimeError):
    """A test transcript (or something derived from it) reached training; a bug, never data."""


@dataclass(frozen=True)
class Fold:
    """Which speakers train and which test, for one fold of one seed."""

    seed: int
    fold: int
    train_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]


@dataclass(frozen=True)
class Prediction:
    id: str
    speaker_id: str
    seed: int
    fold: int
    y_true: int
    p_ad: float
    threshold: float = DEFAULT_THRESHOLD  # its detector's decision threshold (the fold's)


@dataclass
class CVResult:
    """Per-fold metric rows, out-of-fold predictions and the aggregate over folds x seeds."""

    classifier: str
    config: dict[str, Any]
    protocol: str
    rows: list[FoldMetrics] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, MetricSummary]:
        """Per metric: corrected t over K-fold cells, or a bootstrap over test speakers for the fixed split."""
        fixed = self.protocol == "adress"
        return aggregate(
            self.rows, protocol="adress" if fixed else "kfold", predictions=self.predictions_frame() if fixed else None
        )

    def rows_frame(self):
        import pandas as pd

        return pd.DataFrame([r.as_dict() for r in self.rows])

    def predictions_frame(self):
        import pandas as pd

        return pd.DataFrame([vars(p) for p in self.predictions])

    def summary_frame(self):
        """Per metric: mean, sd, 95% interval, n and method; no p-value (a metric against 0 is no question)."""
        import pandas as pd

        return pd.DataFrame([vars(s) for s in self.summary.values()]).drop(columns="p")


# -- checks ---------------------------------------------------------------------
def _where(corpus: Corpus) -> str:
    return corpus.root or "corpus"


def evaluable(corpus: Corpus) -> Corpus:
    """Real, labelled transcripts; synthetic ones belong in ``extra_train``, never in a test fold."""
    real = corpus.real().labelled()
    dropped = len(corpus) - len(real)
    if dropped:
        logger.warning(
            "%d unlabelled or synthetic transcript(s) left out of evaluation (pass synthetic ones through extra_train)",
            dropped,
        )
    return real


def check_two_classes(corpus: Corpus, *, what: str = "corpus") -> dict[Label, int]:
    """Speakers per class; a one-class corpus cannot train or evaluate a detector."""
    per_class = {label: 0 for label in Label}
    for label in corpus.speaker_labels().values():
        if label is not None:
            per_class[label] += 1
    if len(corpus) == 0:
        raise CorpusError(
            _where(corpus),
            f"the {what} holds no labelled real transcripts",
            fix="check the labels (AD/HC) in the metadata",
        )
    missing = [label.value for label, n in per_class.items() if n == 0]
    if missing:
        present = [label.value for label, n in per_class.items() if n]
        raise CorpusError(
            _where(corpus),
            f"the {what} holds only {'/'.join(present)} speakers, no {missing[0]}",
            fix="detection needs both AD and HC speakers",
        )
    return per_class


def speaker_folds(corpus: Corpus, n_splits: int = 5, seed: int = 0) -> list[Fold]:
    """Label-stratified K folds over speakers (each speaker in exactly one test fold)."""
    if n_splits < 2:
        raise ValueError(f"folds must be >= 2, got {n_splits}")
    per_class = check_two_classes(corpus)
    smallest = min(per_class.values())
    if smallest < n_splits:
        label = min(per_class, key=lambda c: per_class[c])
        raise CorpusError(
            _where(corpus),
            f"only {smallest} {label.value} speaker(s) for {n_splits} folds",
            fix=f"use --folds {max(2, smallest)} or fewer, or add speakers",
        )
    labels = corpus.speaker_labels()
    speakers = np.array(sorted(labels))  # sorted: folds depend on the seed, not on file order
    y = np.array([1 if labels[s] == Label.AD else 0 for s in speakers])
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [
        Fold(seed, k, tuple(speakers[train]), tuple(speakers[test]))
        for k, (train, test) in enumerate(splitter.split(speakers, y))
    ]


def repeated_speaker_folds(corpus: Corpus, n_splits: int = 5, seeds: Sequence[int] = (0, 1, 2)) -> list[Fold]:
    return [fold for seed in seeds for fold in speaker_folds(corpus, n_splits, seed)]


def adress_split(corpus: Corpus, seeds: Sequence[int] = (0,)) -> list[Fold]:
    """The fixed ADReSS train/test split (``Transcript.split``), once per training seed."""
    train, test = corpus.by_split("train"), corpus.by_split("test")
    if not len(train) or not len(test):
        raise CorpusError(
            _where(corpus),
            f"the ADReSS split needs train and test transcripts, found {len(train)} train and {len(test)} test",
            fix="use --folds K instead, or an ADReSS-layout corpus",
        )
    check_two_classes(train, what="training split")
    check_two_classes(test, what="test split")
    shared = set(train.speakers()) & set(test.speakers())
    if shared:
        raise CorpusError(
            _where(corpus),
            f"{len(shared)} speaker(s) in both train and test, e.g. {sorted(shared)[0]}",
            fix="fix the split column of the metadata",
        )
    return [Fold(seed, 0, tuple(train.speakers()), tuple(test.speakers())) for seed in seeds]


def make_folds(
    corpus: Corpus, *, protocol: str = "kfold", folds: int = 5, seeds: Sequence[int] = (0, 1, 2)
) -> list[Fold]:
    if protocol == "kfold":
        return repeated_speaker_folds(corpus, folds, seeds)
    if protocol == "adress":
        return adress_split(corpus, seeds)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


def _check_no_leak(fold: Fold, train: Sequence[Transcript], test: Corpus) -> None:
    test_ids = {t.id for t in test}
    test_speakers = set(fold.test_speakers)
    synthetic = [t.id for t in test if t.is_synthetic]
    if synthetic:
        raise LeakageError(f"fold {fold.fold} (seed {fold.seed}) tests on synthetic transcript(s) {synthetic[:3]}")
    for t in train:
        if t.id in test_ids or t.speaker_id in test_speakers:
            raise LeakageError(
                f"fold {fold.fold} (seed {fold.seed}): training transcript {t.id!r} "
                f"(speaker {t.speaker_id!r}) is in the test fold"
            )
        if test_ids.intersection(t.source.parent_ids):
            raise LeakageError(
                f"fold {fold.fold} (seed {fold.seed}): extra transcript {t.id!r} was derived from a "
                "test transcript; build extras from the fold's training corpus only"
            )


# -- evaluation -----------------------------------------------------------------
@dataclass
class FoldOutcome:
    """What one fold produced, handed to ``on_fold`` (e.g. to log a child run)."""

    fold: Fold
    metrics: FoldMetrics
    test: Corpus
    p_ad: np.ndarray
    detector: Any


def evaluate_folds(
    corpus: Corpus,
    folds: Sequence[Fold],
    classifier: str,
    options: Mapping[str, Any] | None = None,
    *,
    extra_train: ExtraTrain | None = None,
    on_fold: Callable[[FoldOutcome], None] | None = None,
    protocol: str = "kfold",
    threshold: ThresholdRule = "fixed",
) -> CVResult:
    """Fit a fresh detector per fold (seeded by the fold's seed) and score its test speakers.

    ``extra_train(fold_train_corpus)`` may return transcripts to add to that fold's training
    set only; they are never scored, and any that overlap the test fold raise ``LeakageError``.
    ``threshold``: how F1's decision threshold is chosen, from the fold's training transcripts and
    extras only (:func:`detect.classifiers.threshold.choose_threshold`).
    """
    corpus = evaluable(corpus)
    base = preflight(classifier, options)
    result = CVResult(classifier, params_to_json(base), protocol)
    for fold in folds:
        train = corpus.by_speakers(fold.train_speakers)
        test = corpus.by_speakers(fold.test_speakers)
        extras = list(extra_train(train)) if extra_train else []
        fit_on = [*train, *extras]
        _check_no_leak(fold, fit_on, test)
        detector = make_detector(classifier, base, seed=fold.seed).fit(fit_on)
        # The training side alone chooses the threshold: it never sees the test transcripts.
        cut = choose_threshold(threshold, classifier, base, seed=fold.seed, train=list(train), extras=extras)
        p_ad = detector.p_ad(test)
        y = test.y()
        row = FoldMetrics(
            seed=fold.seed,
            fold=fold.fold,
            n_train=len(fit_on),
            n_test=len(test),
            n_extra=len(extras),
            threshold=cut,
            **binary_metrics(y, p_ad, threshold=cut),
        )
        result.rows.append(row)
        result.predictions.extend(
            Prediction(t.id, t.speaker_id, fold.seed, fold.fold, label, float(p), cut)
            for t, label, p in zip(test, y, p_ad, strict=True)
        )
        logger.debug(
            "%s seed %d fold %d: %s", classifier, fold.seed, fold.fold, {m: round(getattr(row, m), 3) for m in METRICS}
        )
        if on_fold:
            on_fold(FoldOutcome(fold, row, test, p_ad, detector))
    return result


def cross_validate(
    corpus: Corpus,
    classifier: str,
    options: Mapping[str, Any] | None = None,
    *,
    protocol: str = "kfold",
    folds: int = 5,
    repeats: int = 3,
    seeds: Sequence[int] | None = None,
    extra_train: ExtraTrain | None = None,
    on_fold: Callable[[FoldOutcome], None] | None = None,
    threshold: ThresholdRule = "fixed",
) -> CVResult:
    """Repeated speaker-grouped K-fold (``protocol="kfold"``) or the ADReSS split (``"adress"``).

    Seeds default to ``range(repeats)``; each seed reshuffles the folds and seeds the detector.
    ``threshold``: F1's decision threshold rule (see :func:`evaluate_folds`).
    """
    seeds = list(seeds) if seeds is not None else list(range(repeats))
    if not seeds:
        raise ValueError("need at least one seed (repeats >= 1)")
    real = evaluable(corpus)
    plan = make_folds(real, protocol=protocol, folds=folds, seeds=seeds)
    return evaluate_folds(
        real,
        plan,
        classifier,
        options,
        extra_train=extra_train,
        on_fold=on_fold,
        protocol=protocol,
        threshold=threshold,
    )


# -- tracked in MLflow ----------------------------------------------------------
def run_cv(
    corpus: Corpus,
    classifier: str,
    options: Mapping[str, Any] | None = None,
    *,
    protocol: str = "kfold",
    folds: int = 5,
    repeats: int = 3,
    seeds: Sequence[int] | None = None,
    extra_train: ExtraTrain | None = None,
    experiment: str = "cookiebench-detect",
    tracking_uri: str | None = None,
    final_fit: bool = True,
    on_fold: Callable[[FoldOutcome], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> tuple[CVResult, str]:
    """:func:`cross_validate` inside an MLflow parent run with a child run per fold and seed.

    The parent holds the config, provenance, the evaluated dataset, aggregate metrics
    (mean/sd/95% CI), out-of-fold predictions, a pooled confusion matrix and, with
    ``final_fit``, a detector fitted on all training data logged as a pyfunc model.
    Returns the result and the parent run id.
    """
    from detect import tracking
    from detect.classifiers.mlflow_model import log_detector

    # Bad input fails before anything is written to the store.
    seeds = list(seeds) if seeds is not None else list(range(repeats))
    real = evaluable(corpus)
    plan = make_folds(real, protocol=protocol, folds=folds, seeds=seeds)
    base = preflight(classifier, options)
    if on_plan:
        on_plan(len(plan))
    params = {
        "classifier": classifier,
        "protocol": protocol,
        "folds": folds if protocol == "kfold" else 1,
        "seeds": ",".join(map(str, seeds)),
        "extra_train": extra_train is not None,
        "config": params_to_json(base),
        **tracking.provenance_params(real),
    }
    with tracking.experiment_run(
        experiment, f"{protocol}-{classifier}", uri=tracking_uri, params=params, tags={"stage": "detect"}
    ) as parent:
        tracking.log_corpus_dataset(real, name=f"corpus-{real.digest()}", context="evaluation")

        def log_child(outcome: FoldOutcome) -> None:
            m = outcome.metrics
            name = f"seed{m.seed}-fold{m.fold}"
            with tracking.child_run(
                name,
                params={"seed": m.seed, "fold": m.fold, "n_train": m.n_train, "n_test": m.n_test, "n_extra": m.n_extra},
            ):
                tracking.log_metrics({k: getattr(m, k) for k in METRICS})
                tracking.log_confusion_matrix(
                    outcome.test.y(), (outcome.p_ad >= 0.5).astype(int), title=f"{classifier} {name}"
                )
            # Steps let the MLflow UI chart a metric across folds x seeds on the parent too.
            step = len(result_rows)
            result_rows.append(m)
            tracking.log_metrics({f"fold_{k}": getattr(m, k) for k in METRICS}, step=step)
            if on_fold:
                on_fold(outcome)

        result_rows: list[FoldMetrics] = []
        result = evaluate_folds(
            real, plan, classifier, base, extra_train=extra_train, on_fold=log_child, protocol=protocol
        )
        for metric, s in result.summary.items():
            tracking.log_metrics(
                {
                    f"{metric}_mean": s.mean,
                    f"{metric}_sd": s.sd,
                    f"{metric}_ci_low": s.ci_low,
                    f"{metric}_ci_high": s.ci_high,
                }
            )
        tracking.log_frame(result.rows_frame(), "folds.csv")
        tracking.log_frame(result.summary_frame(), "summary.csv")
        preds = result.predictions_frame()
        tracking.log_frame(preds, "predictions.csv")
        tracking.log_confusion_matrix(
            preds["y_true"], (preds["p_ad"] >= 0.5).astype(int), title=f"{classifier}: all folds x seeds"
        )
        if final_fit:
            train = real.by_split("train") if protocol == "adress" else real
            detector = make_detector(classifier, base, seed=seeds[0])
            extras = list(extra_train(train)) if extra_train else []
            detector.fit([*train, *extras])
            log_detector(detector)
        run_id = parent.info.run_id
    return result, run_id
