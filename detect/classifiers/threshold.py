"""F1's decision threshold, chosen from a detector's training data alone.

P(AD) >= 0.5 is the default decision (``fixed``). It can be brittle where the training set changes
the classifier's calibration: extra transcripts make a logistic head surer or less sure, and a
whole test set can move across 0.5 while the ranking (AUROC) stays put. ``inner-cv`` asks the
training data instead: the real training speakers are split into speaker-grouped, stratified
inner folds; a detector of the same kind is fit on each fold's rest (with every extra
transcript, as the cell's own detector is) and scores the fold's held-out real transcripts; the
threshold calls AD the share of those pooled out-of-fold scores that the training set holds AD
(the training prior, read on scores the detector did not fit). No test speaker is ever an input:
the function takes the training transcripts and the extras, nothing else. ::

    threshold = choose_threshold("inner-cv", "tfidf", {}, seed=0, train=train, extras=synthetic)
    f1 = binary_metrics(test.y(), detector.p_ad(test), threshold=threshold)["f1"]

Why the prior and not the F1-maximising threshold: on out-of-fold scores of a few dozen speakers
F1 is maximised by calling everyone AD (F1 2/3 on balanced data) whenever the ranking is weak, and
a negative control's inverted ranking then vanishes from F1 (measured on the `controls` profile:
`flipped` was no longer detected in F1). Balanced accuracy was as noisy. The prior rule kept
most of the detections but did not narrow the intervals on both designs tried, so the benchmark
keeps 0.5 by default (docs/statistics.md, "The threshold rule"; figures: bench-results/README.md, B3).

It costs ``INNER_FOLDS`` extra fits per detector (a fraction of a second each for TF-IDF, the
markers and the BERT probe; minutes for a BERT fine-tune).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from sklearn.model_selection import StratifiedKFold

from detect.classifiers import make_detector
from detect.classifiers.base import labels_of
from detect.metrics import DEFAULT_THRESHOLD
from detect.records import Label, Transcript

logger = logging.getLogger(__name__)

ThresholdRule = Literal["fixed", "inner-cv"]
THRESHOLD_RULES: tuple[str, ...] = ("fixed", "inner-cv")
INNER_FOLDS = 3


def choose_threshold(
    rule: ThresholdRule,
    classifier: str,
    options: Mapping[str, Any] | None,
    *,
    seed: int,
    train: Sequence[Transcript],
    extras: Sequence[Transcript] = (),
) -> float:
    """The decision threshold on P(AD) by ``rule``, from the real training transcripts ``train`` and the
    ``extras`` a cell adds to them (see the module docstring)."""
    if rule == "fixed":
        return DEFAULT_THRESHOLD
    if rule != "inner-cv":
        raise ValueError(f"unknown threshold rule {rule!r}; choose from {list(THRESHOLD_RULES)}")
    y, p = inner_predictions(classifier, options, seed=seed, train=train, extras=extras)
    if y is None or p is None:
        return DEFAULT_THRESHOLD
    return prior_threshold(y, p)


def inner_predictions(
    classifier: str,
    options: Mapping[str, Any] | None,
    *,
    seed: int,
    train: Sequence[Transcript],
    extras: Sequence[Transcript] = (),
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Out-of-fold (labels, P(AD)) of the real training transcripts over speaker-grouped, stratified
    inner folds, each fit on the rest plus every extra; (None, None) when a class has fewer than 2
    speakers (no inner split keeps both classes on both sides)."""
    labels: dict[str, Label | None] = {}
    for t in train:
        labels[t.speaker_id] = t.label  # a speaker's last visit, as detect.cv stratifies
    speakers = np.array(sorted(labels))
    y_speakers = np.array([labels[s] == Label.AD for s in speakers], dtype=int)
    smallest = int(min(y_speakers.sum(), (1 - y_speakers).sum()))
    if smallest < 2:
        logger.warning(
            "threshold: %d speaker(s) in the smaller training class, too few to choose a threshold by "
            "inner CV; %.1f used",
            smallest,
            DEFAULT_THRESHOLD,
        )
        return None, None
    splitter = StratifiedKFold(n_splits=min(INNER_FOLDS, smallest), shuffle=True, random_state=seed)
    ys, ps = [], []
    for inner_train, held_out in splitter.split(speakers, y_speakers):
        fit_speakers, score_speakers = set(speakers[inner_train]), set(speakers[held_out])
        fit_on = [t for t in train if t.speaker_id in fit_speakers]
        scored = [t for t in train if t.speaker_id in score_speakers]
        detector = make_detector(classifier, options, seed=seed).fit([*fit_on, *extras])
        ys.append(labels_of(scored))
        ps.append(detector.p_ad(scored))
    return np.concatenate(ys), np.concatenate(ps)


def prior_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that calls AD as many of the scored transcripts as are AD: the midpoint between
    the k-th and the (k+1)-th highest score, k = round(share of AD x n) (between 0 and 1 beyond them).

    >>> prior_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.2, 0.4]))
    0.25
    """
    y, p = np.asarray(y, dtype=int), np.sort(np.asarray(p, dtype=float))[::-1]
    k = round(y.mean() * y.size)
    above = p[k - 1] if k > 0 else 1.0
    below = p[k] if k < p.size else 0.0
    return float((above + below) / 2)
