import numpy as np
import pytest
from scipy import stats

from eval.stats import bootstrap_interval, corrected_t_test, paired_comparison, summarize


def test_summarize_matches_scipy_t_interval():
    x = [0.70, 0.75, 0.80, 0.72, 0.78]
    s = summarize(x)
    low, high = stats.t.interval(0.95, df=4, loc=np.mean(x), scale=stats.sem(x))
    assert s.mean == pytest.approx(np.mean(x))
    assert s.sd == pytest.approx(np.std(x, ddof=1))
    assert (s.low, s.high) == (pytest.approx(low), pytest.approx(high))
    assert summarize([0.5]).sd == 0.0 and summarize([]).n == 0


def test_corrected_t_is_the_plain_paired_t_when_uncorrected():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.05, 15), rng.normal(0.75, 0.05, 15)
    t, p = corrected_t_test(a - b, test_fraction=0.0)
    reference = stats.ttest_rel(a, b)
    assert t == pytest.approx(reference.statistic) and p == pytest.approx(reference.pvalue)


def test_correction_makes_the_test_more_conservative():
    d = np.array([0.02, 0.05, 0.01, 0.04, 0.03, 0.06, 0.02, 0.03, 0.05, 0.04])
    t_plain, p_plain = corrected_t_test(d, test_fraction=0.0)
    t_nb, p_nb = corrected_t_test(d, test_fraction=0.25)  # 5-fold CV: n_test/n_train = 1/4
    # Hand-computed: mean 0.035, var 0.000272..., J = 10
    expected = d.mean() / np.sqrt((1 / 10 + 0.25) * d.var(ddof=1))
    assert t_nb == pytest.approx(expected)
    assert abs(t_nb) < abs(t_plain) and p_nb > p_plain


def test_bootstrap_interval_covers_the_mean_and_is_reproducible():
    d = np.array([0.01, 0.03, -0.02, 0.05, 0.02, 0.00, 0.04])
    low, high = bootstrap_interval(d, seed=3)
    assert low < d.mean() < high
    assert (low, high) == bootstrap_interval(d, seed=3)
    assert bootstrap_interval([0.1]) == (0.1, 0.1)


def test_paired_comparison_requires_aligned_cells():
    result = paired_comparison([0.8, 0.82, 0.79], [0.75, 0.80, 0.74], test_fraction=0.5)
    assert result.delta == pytest.approx(np.mean([0.05, 0.02, 0.05]))
    assert result.n == 3 and 0 < result.p < 1
    with pytest.raises(ValueError, match="must align"):
        paired_comparison([0.8, 0.7], [0.8], test_fraction=0.5)
