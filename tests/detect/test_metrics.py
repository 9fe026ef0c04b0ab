"""Summaries of metrics over cells: the corrected t for K-fold, the speaker bootstrap for a fixed split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

from detect.metrics import (
    METRICS,
    FoldMetrics,
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
                rows.append({"seed": seed, "id": f"t{i}-{k}", "speaker_id": f"s{i}", "y_true": y[i],
                             "p_ad": 1 / (1 + math.exp(-score[i]))})
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
    per_seed = [binary_metrics(a[a.seed == k].y_true, a[a.seed == k].p_ad)["f1"]
                - binary_metrics(b[b.seed == k].y_true, b[b.seed == k].p_ad)["f1"] for k in range(3)]
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


def test_aggregate_follows_the_protocol():
    preds = predictions()
    rows = [FoldMetrics(seed=k, fold=0, n_train=40, n_test=24, **binary_metrics(g.y_true, g.p_ad))
            for k, g in preds.groupby("seed")]
    fixed = aggregate(rows, protocol="adress", predictions=preds)
    assert {s.method for s in fixed.values()} == {"speaker bootstrap"}
    assert fixed["auroc"].mean == pytest.approx(np.mean([r.auroc for r in rows]))
    assert {s.method for s in aggregate(rows).values()} == {"corrected t"}
    with pytest.raises(ValueError, match="predictions"):
        aggregate(rows, protocol="adress")
