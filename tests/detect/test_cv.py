"""Speaker-grouped folds, the ADReSS split, extras in training only, and metrics against scikit-learn."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

from detect.cv import LeakageError, adress_split, cross_validate, repeated_speaker_folds, speaker_folds
from detect.errors import CorpusError
from detect.metrics import FoldMetrics, aggregate, binary_metrics, summarize
from detect.records import Corpus, Label, Source, Transcript

AD_WORDS = "um uh the thing he is uh falling the um thing there".split()
HC_WORDS = "the boy stands on the stool reaching for cookies while mother dries dishes and water overflows".split()


def make_corpus(n_ad: int, n_hc: int, *, sessions: int = 1, seed: int = 0, test_share: float = 0.0) -> Corpus:
    rng = random.Random(seed)
    out = []
    for i in range(n_ad + n_hc):
        label = Label.AD if i < n_ad else Label.HC
        words = AD_WORDS if label == Label.AD else HC_WORDS
        split = "test" if rng.random() < test_share else "train"
        for s in range(sessions):
            text = " ".join(rng.choice(words) for _ in range(30))
            out.append(Transcript(id=f"sp{i}-{s}", speaker_id=f"sp{i}", label=label, text=text, split=split, session=s))
    return Corpus(out)


# -- folds ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_ad=st.integers(5, 25),
    n_hc=st.integers(5, 25),
    sessions=st.integers(1, 3),
    k=st.integers(2, 5),
    seed=st.integers(0, 10_000),
)
def test_no_speaker_crosses_folds(n_ad, n_hc, sessions, k, seed):
    corpus = make_corpus(n_ad, n_hc, sessions=sessions, seed=seed)
    folds = speaker_folds(corpus, k, seed)
    assert len(folds) == k
    all_speakers = set(corpus.speakers())
    tested = []
    for fold in folds:
        train, test = set(fold.train_speakers), set(fold.test_speakers)
        assert not train & test, "a speaker is in both train and test"
        assert train | test == all_speakers
        # every session of a test speaker is in the test corpus, none in training
        assert not set(corpus.by_speakers(train).speakers()) & set(corpus.by_speakers(test).speakers())
        tested.extend(test)
        # label-stratified: each fold's AD count is within one of the even share
        n_ad_test = sum(1 for s in test if corpus.speaker_labels()[s] == Label.AD)
        assert abs(n_ad_test - n_ad / k) < 1 + 1e-9
    assert sorted(tested) == sorted(all_speakers), "each speaker is tested exactly once per seed"


def test_seeds_reshuffle_folds_and_repeat_exactly():
    corpus = make_corpus(15, 15)
    a, b = speaker_folds(corpus, 5, seed=0), speaker_folds(corpus, 5, seed=1)
    assert [f.test_speakers for f in a] != [f.test_speakers for f in b]
    assert [f.test_speakers for f in a] == [f.test_speakers for f in speaker_folds(corpus, 5, seed=0)]
    assert len(repeated_speaker_folds(corpus, 5, seeds=(0, 1, 2))) == 15


def test_one_class_corpus_is_a_one_line_error():
    corpus = make_corpus(10, 0)
    with pytest.raises(CorpusError, match="only AD speakers") as info:
        speaker_folds(corpus, 5)
    assert "\n" not in str(info.value)


def test_too_few_speakers_for_k_folds_says_what_to_do():
    corpus = make_corpus(10, 3)
    with pytest.raises(CorpusError, match=r"only 3 HC speaker\(s\) for 5 folds.*--folds 3"):
        speaker_folds(corpus, 5)


def test_adress_split_keeps_the_given_speakers():
    corpus = make_corpus(20, 20, test_share=0.3, seed=3)
    (fold,) = adress_split(corpus)
    assert set(fold.train_speakers) == set(corpus.by_split("train").speakers())
    assert set(fold.test_speakers) == set(corpus.by_split("test").speakers())


def test_adress_split_without_split_column_is_an_error():
    corpus = make_corpus(10, 10)  # all "train"
    with pytest.raises(CorpusError, match="needs train and test"):
        adress_split(corpus)


# -- cross-validation and extras --------------------------------------------------------
def test_cross_validate_scores_every_speaker_once_per_seed():
    corpus = make_corpus(12, 12, sessions=2)
    result = cross_validate(corpus, "tfidf", folds=4, repeats=2)
    assert len(result.rows) == 8
    preds = result.predictions_frame()
    assert len(preds) == 2 * len(corpus)
    assert (preds.groupby("seed")["id"].nunique() == len(corpus)).all()
    # the toy classes are separable by vocabulary
    assert result.summary["accuracy"].mean > 0.9
    assert result.summary["auroc"].n == 8


def test_extras_train_only_and_come_from_the_fold():
    corpus = make_corpus(10, 10)
    seen_train_speakers: list[set[str]] = []

    def extra_train(train: Corpus) -> list[Transcript]:
        seen_train_speakers.append(set(train.speakers()))
        return [
            t.model_copy(
                update={
                    "id": f"syn-{t.id}",
                    "speaker_id": f"syn-{t.speaker_id}",
                    "source": Source(kind="synthetic", generator="copy", parent_ids=(t.id,)),
                }
            )
            for t in train
        ]

    result = cross_validate(corpus, "tfidf", folds=5, repeats=1, extra_train=extra_train)
    preds = result.predictions_frame()
    assert not preds["id"].str.startswith("syn-").any(), "an extra transcript was evaluated"
    for fold_speakers, row, fold in zip(seen_train_speakers, result.rows, speaker_folds(corpus, 5, 0), strict=True):
        assert fold_speakers == set(fold.train_speakers)
        assert row.n_extra == len(fold.train_speakers) and row.n_train == 2 * row.n_extra


def test_extras_derived_from_test_speakers_raise_leakage():
    corpus = make_corpus(10, 10)

    def leaky(train: Corpus) -> list[Transcript]:
        return [
            t.model_copy(
                update={
                    "id": f"syn-{t.id}",
                    "speaker_id": "syn",
                    "source": Source(kind="synthetic", parent_ids=(t.id,)),
                }
            )
            for t in corpus
        ]

    with pytest.raises(LeakageError, match="derived from a test transcript"):
        cross_validate(corpus, "tfidf", folds=5, repeats=1, extra_train=leaky)


def test_synthetic_transcripts_in_the_corpus_are_never_tested():
    corpus = make_corpus(10, 10)
    synthetic = [
        t.model_copy(update={"id": f"syn{i}", "speaker_id": f"syn{i}", "source": Source(kind="synthetic")})
        for i, t in enumerate(corpus)
    ]
    result = cross_validate(corpus + synthetic, "majority", folds=5, repeats=1)
    assert set(result.predictions_frame()["id"]) == {t.id for t in corpus}


# -- metrics --------------------------------------------------------------------------
def test_metrics_match_scikit_learn_on_known_predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    p = np.clip(0.35 * y + rng.random(200) * 0.65, 0, 1)
    pred = (p >= 0.5).astype(int)
    m = binary_metrics(y, p)
    assert m["f1"] == pytest.approx(f1_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p))
    assert m["sensitivity"] == pytest.approx(recall_score(y, pred, pos_label=1))
    assert m["specificity"] == pytest.approx(recall_score(y, pred, pos_label=0))


def test_metrics_by_hand():
    # AD: 3 (2 found), HC: 2 (1 rejected) -> TP 2, FN 1, TN 1, FP 1
    m = binary_metrics([1, 1, 1, 0, 0], [0.9, 0.6, 0.2, 0.7, 0.1])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["auroc"] == pytest.approx(4 / 6)  # 4 of 6 AD/HC pairs ranked right


def test_one_class_fold_has_nan_auroc_left_out_of_the_aggregate():
    m = binary_metrics([1, 1], [0.9, 0.2])
    assert math.isnan(m["auroc"]) and math.isnan(m["specificity"])
    assert summarize([0.8, math.nan, 0.6]).n == 2


def test_summary_is_mean_sd_and_t_interval():
    values = [0.7, 0.8, 0.75, 0.9, 0.65, 0.8]
    s = summarize(values, "f1")
    low, high = stats.t.interval(0.95, df=len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert s.mean == pytest.approx(np.mean(values))
    assert s.sd == pytest.approx(np.std(values, ddof=1))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    rows = [
        FoldMetrics(
            seed=0,
            fold=i,
            n_train=12,
            n_test=5,
            n_extra=2,
            f1=v,
            macro_f1=v,
            accuracy=v,
            auroc=v,
            sensitivity=v,
            specificity=v,
        )
        for i, v in enumerate(values)
    ]
    # K-fold rows: corrected by n_test / n_train of real training transcripts (extras left out), kept
    # within what accuracy can be, and no p-value: a metric against 0 is no question
    expected = summarize(values, "accuracy", test_fraction=5 / 10)
    got = aggregate(rows)["accuracy"]
    assert (got.mean, got.sd, got.ci_low, got.n) == (expected.mean, expected.sd, expected.ci_low, expected.n)
    assert got.ci_high == min(expected.ci_high, 1.0) and math.isnan(got.p)


def test_the_cv_summary_has_intervals_and_no_p_value():
    result = cross_validate(make_corpus(12, 12, sessions=2), "tfidf", folds=4, repeats=2)
    frame = result.summary_frame()
    assert "p" not in frame and {"metric", "mean", "ci_low", "ci_high", "brier", "log_loss"} <= {*frame, *frame.metric}
    assert ((frame.ci_low >= 0) & (frame.ci_low <= frame.ci_high)).all()
