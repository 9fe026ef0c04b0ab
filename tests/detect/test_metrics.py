"""Summaries of metrics over cells: the corrected t for K-fold, the speaker bootstrap for a fixed split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, recall_score, roc_auc_score

from detect.metrics import (
    METRICS,
    FoldMetrics,
    TestSet,
    aggregate,
    binary_metrics,
    speaker_bootstrap,
    summarize,
    weighted_metrics,
)


def predictions(seeds: int = 3, n: int = 24, *, shift: float = 0.0, rng_seed: int = 0, per_speaker: int = 1):
    """Out-of-fold predictions of one fixed test set (balanced), scored under several seeds."""
    rng = np.random.default_rng(rng_seed)
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    rows = []
    for seed in range(seeds):
        score = 1.2 * (2 * y - 1) + shift + rng.normal(0, 1, n)
        for i in range(n):
            for k in range(per_speaker):
                rows.append(
                    {
                        "seed": seed,
                        "id": f"t{i}-{k}",
                        "speaker_id": f"s{i}",
                        "y_true": y[i],
                        "p_ad": 1 / (1 + math.exp(-score[i])),
                    }
                )
    return pd.DataFrame(rows)


def test_weighted_metrics_are_scikit_learn_with_sample_weight():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40)
    p = np.round(rng.random(40), 1)  # rounded: ties in the ranking, and scores exactly at the threshold
    weights = rng.integers(0, 3, (8, 40))
    got = weighted_metrics(y, p, weights)
    pred = (p >= 0.5).astype(int)
    for k, w in enumerate(weights):
        assert got["f1"][k] == pytest.approx(f1_score(y, pred, sample_weight=w))
        assert got["macro_f1"][k] == pytest.approx(f1_score(y, pred, average="macro", sample_weight=w))
        assert got["accuracy"][k] == pytest.approx(accuracy_score(y, pred, sample_weight=w))
        assert got["auroc"][k] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
        assert got["sensitivity"][k] == pytest.approx(recall_score(y, pred, sample_weight=w))
        assert got["specificity"][k] == pytest.approx(recall_score(y, pred, pos_label=0, sample_weight=w))
        assert got["brier"][k] == pytest.approx(brier_score_loss(y, p, sample_weight=w))
        assert got["log_loss"][k] == pytest.approx(log_loss(y, p, sample_weight=w, labels=[0, 1]))
    ones = weighted_metrics(y, p, np.ones((1, 40)))
    assert {m: ones[m][0] for m in METRICS} == pytest.approx(binary_metrics(y, p))


def test_one_value_has_no_interval_rather_than_a_zero_width_one():
    s = summarize([0.7], "f1")
    assert s.mean == 0.7 and s.n == 1
    assert all(math.isnan(v) for v in (s.sd, s.ci_low, s.ci_high, s.p))
    empty = summarize([], "f1")
    assert empty.n == 0 and math.isnan(empty.mean)


def test_plain_t_is_scipy_and_the_correction_widens_it_by_the_nadeau_bengio_factor():
    d = np.array([0.02, 0.05, 0.01, 0.04, 0.03, 0.06, 0.02, 0.03, 0.05, 0.04])
    plain = summarize(d)
    assert (plain.ci_low, plain.ci_high) == pytest.approx(stats.t.interval(0.95, 9, loc=d.mean(), scale=stats.sem(d)))
    assert plain.p == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)
    corrected = summarize(d, test_fraction=0.25)  # 5-fold CV: n_test / n_train = 1/4
    se = math.sqrt((1 / 10 + 0.25) * d.var(ddof=1))
    half = stats.t.ppf(0.975, 9) * se
    assert (corrected.ci_low, corrected.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert corrected.p == pytest.approx(2 * stats.t.sf(d.mean() / se, 9))
    assert corrected.p > plain.p and corrected.method == "corrected t"


def test_identical_cells_give_the_point_as_interval_and_a_p_that_agrees():
    gain = summarize([0.25] * 4, test_fraction=0.25)
    assert (gain.ci_low, gain.ci_high, gain.p) == (0.25, 0.25, 0.0)
    none = summarize([0.0] * 4, test_fraction=0.25)
    assert (none.ci_low, none.ci_high, none.p) == (0.0, 0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2), min_size=2, max_size=20), st.sampled_from([0.0, 0.1, 0.25, 0.5]))
def test_t_interval_excludes_zero_exactly_when_p_is_below_005(values, fraction):
    s = summarize(values, test_fraction=fraction)
    assert (s.ci_low > 0 or s.ci_high < 0) == (s.p < 0.05)


def test_speaker_bootstrap_estimate_is_the_seed_mean_and_reproducible():
    a, b = predictions(rng_seed=1), predictions(rng_seed=2)
    s = speaker_bootstrap(a, "f1", baseline=b, seed=4)
    per_seed = [
        binary_metrics(a[a.seed == k].y_true, a[a.seed == k].p_ad)["f1"]
        - binary_metrics(b[b.seed == k].y_true, b[b.seed == k].p_ad)["f1"]
        for k in range(3)
    ]
    assert s.mean == pytest.approx(np.mean(per_seed)) and s.sd == pytest.approx(np.std(per_seed, ddof=1))
    assert s.ci_low <= s.mean <= s.ci_high and s.n == 3 and s.method == "speaker bootstrap"
    assert s == speaker_bootstrap(a, "f1", baseline=b, seed=4)
    assert (s.ci_low > 0 or s.ci_high < 0) == (s.p < 0.05)


def test_speaker_bootstrap_resamples_speakers_not_transcripts():
    """Each speaker's transcript twice over is the same evidence: the interval must not narrow."""
    once = speaker_bootstrap(predictions(), "accuracy", seed=0)
    twice = speaker_bootstrap(predictions(per_speaker=2), "accuracy", seed=0)
    assert (twice.mean, twice.ci_low, twice.ci_high) == pytest.approx((once.mean, once.ci_low, once.ci_high))


def test_a_clear_difference_is_seen_and_a_null_one_is_not():
    good, bad = predictions(rng_seed=1), predictions(rng_seed=1, shift=-3.0)  # bad calls nearly everyone HC
    assert speaker_bootstrap(good, "f1", baseline=bad).p < 0.05
    same = speaker_bootstrap(good, "f1", baseline=good)
    assert (same.mean, same.ci_low, same.ci_high, same.p) == (0.0, 0.0, 0.0, 1.0)


def test_speaker_bootstrap_refuses_different_test_sets():
    a = predictions()
    with pytest.raises(ValueError, match="same test transcripts"):
        speaker_bootstrap(a, "f1", baseline=a[a.id != "t0-0"])


def kfold_predictions(shift: float = 0.0, *, seeds: int = 3, folds: int = 4, n: int = 40, rng_seed: int = 0):
    """Out-of-fold predictions of repeated K-fold: every transcript once per seed, in one of its folds."""
    rng = np.random.default_rng(rng_seed)
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    frames = []
    for seed in range(seeds):
        fold = rng.permutation(np.arange(n) % folds)
        bias = rng.normal(0, 0.5, folds)[fold]  # each fold's classifier is off in its own way
        score = 1.2 * (2 * y - 1) + shift * (y - 0.5) + bias + rng.normal(0, 1, n)
        frames.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "fold": fold,
                    "id": [f"t{i}" for i in range(n)],
                    "speaker_id": [f"s{i}" for i in range(n)],
                    "y_true": y,
                    "p_ad": 1 / (1 + np.exp(-score)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_kfold_bootstraps_the_pooled_out_of_fold_predictions_and_their_folds():
    base, better = kfold_predictions(rng_seed=1), kfold_predictions(3.0, rng_seed=1)
    s = speaker_bootstrap(better, "f1", baseline=base, seed=2)
    per_seed = [
        binary_metrics(better[better.seed == k].y_true, better[better.seed == k].p_ad)["f1"]
        - binary_metrics(base[base.seed == k].y_true, base[base.seed == k].p_ad)["f1"]
        for k in range(3)
    ]
    assert s.method == "pooled speaker bootstrap" and s.n == 3
    assert s.mean == pytest.approx(np.mean(per_seed))  # each seed's folds pooled: every speaker once
    assert -1 <= s.ci_low <= s.mean <= s.ci_high <= 1 and (s.ci_low > 0) == (s.p < 0.05)
    assert TestSet.of(base).pooled and not TestSet.of(predictions()).pooled
    with pytest.raises(ValueError, match="same folds"):
        speaker_bootstrap(better, "f1", baseline=base.assign(fold=(base.fold + 1) % 4 * (base.seed == 0)))


def test_a_metric_alone_has_an_interval_but_no_p_value():
    assert math.isnan(speaker_bootstrap(predictions(), "f1").p)
    preds = predictions()
    rows = [
        FoldMetrics(seed=k, fold=0, n_train=40, n_test=24, **binary_metrics(g.y_true, g.p_ad))
        for k, g in preds.groupby("seed")
    ]
    for summary in (*aggregate(rows).values(), *aggregate(rows, protocol="adress", predictions=preds).values()):
        assert math.isnan(summary.p)


def test_a_t_interval_never_reaches_beyond_what_the_metric_can_move():
    # the case: a small base makes n_test / n_train large, and the t-interval wider than F1 can move
    wide = summarize([0.6, -0.2, 0.5, 0.1, -0.3], test_fraction=58 / 23, bounds=(-1.0, 1.0))
    unclipped = summarize([0.6, -0.2, 0.5, 0.1, -0.3], test_fraction=58 / 23)
    assert unclipped.ci_low < -1 and unclipped.ci_high > 1
    assert (wide.ci_low, wide.ci_high, wide.p) == (-1.0, 1.0, unclipped.p)
    rows = [
        FoldMetrics(seed=0, fold=i, n_train=10, n_test=40, **binary_metrics([1, 1, 0, 0], p))
        for i, p in enumerate([[0.9, 0.8, 0.1, 0.2], [0.9, 0.8, 0.1, 0.6], [0.6, 0.8, 0.1, 0.2]])
    ]
    for metric, s in aggregate(rows).items():
        assert s.ci_low >= 0 and (metric == "log_loss" or s.ci_high <= 1), (metric, s)


def test_aggregate_follows_the_protocol():
    preds = predictions()
    rows = [
        FoldMetrics(seed=k, fold=0, n_train=40, n_test=24, **binary_metrics(g.y_true, g.p_ad))
        for k, g in preds.groupby("seed")
    ]
    fixed = aggregate(rows, protocol="adress", predictions=preds)
    assert {s.method for s in fixed.values()} == {"speaker bootstrap"}
    assert fixed["auroc"].mean == pytest.approx(np.mean([r.auroc for r in rows]))
    assert {s.method for s in aggregate(rows).values()} == {"corrected t"}
    with pytest.raises(ValueError, match="predictions"):
        aggregate(rows, protocol="adress")
