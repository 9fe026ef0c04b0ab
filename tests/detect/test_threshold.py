"""F1's decision threshold rule: chosen from the training side alone, used by every F1 the project computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detect import cv
from detect.classifiers import threshold as threshold_rule
from detect.classifiers.threshold import choose_threshold, prior_threshold
from detect.metrics import DEFAULT_THRESHOLD, binary_metrics, speaker_bootstrap
from detect.records import Corpus
from tests.detect.test_cv import make_corpus


def _with_test_texts(corpus: Corpus, fold: cv.Fold, text: str) -> Corpus:
    """The corpus with every test transcript of ``fold`` saying ``text`` instead."""
    test = set(fold.test_speakers)
    return Corpus([t.model_copy(update={"text": text}) if t.speaker_id in test else t for t in corpus])


def test_the_fixed_rule_is_one_half_and_the_prior_rule_calls_ad_the_training_share():
    assert choose_threshold("fixed", "tfidf", {}, seed=0, train=[]) == DEFAULT_THRESHOLD
    y = np.array([1] * 3 + [0] * 7)
    p = np.linspace(0.9, 0.0, 10)  # the three highest scores are called AD: the training share
    t = prior_threshold(y, p)
    assert (p >= t).sum() == 3 and p[2] > t > p[3]
    assert prior_threshold(np.ones(4), p[:4]) < p[:4].min() and prior_threshold(np.zeros(4), p[:4]) > p[:4].max()


@pytest.mark.slow
def test_the_inner_cv_threshold_sees_no_test_speaker(monkeypatch):
    """Changing every test transcript leaves each fold's threshold unchanged, and no detector the
    rule fits or scores with ever receives a test speaker's transcript (the leakage guard)."""
    corpus = make_corpus(14, 14, seed=3)
    folds = cv.speaker_folds(corpus, 4, seed=1)
    seen: list[tuple[str, set[str]]] = []  # (fit or score, speakers) of every detector of the threshold rule
    real_make = threshold_rule.make_detector

    def recording(*args, **kwargs):
        detector = real_make(*args, **kwargs)
        fit, p_ad = detector.fit, detector.p_ad
        detector.fit = lambda X, y=None: (seen.append(("fit", {t.speaker_id for t in X})), fit(X, y))[1]
        detector.p_ad = lambda X: (seen.append(("score", {t.speaker_id for t in X})), p_ad(X))[1]
        return detector

    monkeypatch.setattr(threshold_rule, "make_detector", recording)
    for fold in folds:
        seen.clear()
        before = cv.evaluate_folds(corpus, [fold], "tfidf", threshold="inner-cv")
        assert seen and not any(speakers & set(fold.test_speakers) for _, speakers in seen), seen
        after = cv.evaluate_folds(
            _with_test_texts(corpus, fold, "the boy the boy the stool"), [fold], "tfidf", threshold="inner-cv"
        )
        assert before.rows[0].threshold == after.rows[0].threshold
        assert not np.allclose([p.p_ad for p in before.predictions], [p.p_ad for p in after.predictions])
        assert {p.threshold for p in before.predictions} == {before.rows[0].threshold}


def test_extras_reach_the_threshold_s_inner_fits_but_are_never_scored(monkeypatch):
    corpus = make_corpus(10, 10, seed=5)
    train = list(corpus)
    extras = [t.model_copy(update={"id": f"{t.id}-x", "speaker_id": f"{t.speaker_id}-x"}) for t in train[:6]]
    fitted, scored = [], []
    real_make = threshold_rule.make_detector

    def recording(*args, **kwargs):
        detector = real_make(*args, **kwargs)
        fit, p_ad = detector.fit, detector.p_ad
        detector.fit = lambda X, y=None: (fitted.append({t.id for t in X}), fit(X, y))[1]
        detector.p_ad = lambda X: (scored.append({t.id for t in X}), p_ad(X))[1]
        return detector

    monkeypatch.setattr(threshold_rule, "make_detector", recording)
    choose_threshold("inner-cv", "tfidf", {}, seed=0, train=train, extras=extras)
    extra_ids = {t.id for t in extras}
    assert len(fitted) == threshold_rule.INNER_FOLDS and all(extra_ids <= ids for ids in fitted)
    assert not any(extra_ids & ids for ids in scored)
    assert set().union(*scored) == {t.id for t in train}, "every real training transcript is scored once"


def test_too_few_speakers_for_an_inner_split_keep_one_half(caplog):
    corpus = make_corpus(1, 6, seed=2)
    assert choose_threshold("inner-cv", "tfidf", {}, seed=0, train=list(corpus)) == DEFAULT_THRESHOLD
    assert "too few to choose a threshold" in caplog.text


def test_an_unknown_rule_is_an_error_naming_the_rules():
    with pytest.raises(ValueError, match=r"unknown threshold rule 'best'.*fixed.*inner-cv"):
        choose_threshold("best", "tfidf", {}, seed=0, train=[])  # type: ignore[arg-type]


def test_the_bootstrap_scores_f1_at_each_prediction_s_own_threshold():
    rng = np.random.default_rng(0)
    n = 40
    y = np.r_[np.ones(n // 2, dtype=int), np.zeros(n // 2, dtype=int)]
    p = np.clip(0.3 + 0.2 * y + rng.normal(0, 0.15, n), 0, 1)
    frame = pd.DataFrame(
        {
            "seed": 0,
            "id": [f"t{i:02d}" for i in range(n)],
            "speaker_id": [f"s{i:02d}" for i in range(n)],
            "y_true": y,
            "p_ad": p,
        }
    )
    at_half = speaker_bootstrap(frame, "f1", resamples=200)
    lowered = speaker_bootstrap(frame.assign(threshold=0.35), "f1", resamples=200)
    assert at_half.mean == pytest.approx(binary_metrics(y, p)["f1"])
    assert lowered.mean == pytest.approx(binary_metrics(y, p, threshold=0.35)["f1"]) and lowered.mean != at_half.mean
    # the threshold-free statistics do not depend on it
    assert speaker_bootstrap(frame.assign(threshold=0.35), "brier", resamples=200).mean == pytest.approx(
        speaker_bootstrap(frame, "brier", resamples=200).mean
    )
