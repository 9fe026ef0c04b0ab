"""Paired comparisons of a condition against the no-augmentation baseline.

Every condition is scored on the same (seed, fold) cells, so the unit of comparison is the
per-cell difference ``d = metric(condition) - metric(none)``. Two summaries of those J
differences:

* a percentile bootstrap interval for the mean difference (resampling cells);
* the Nadeau-Bengio corrected resampled t-test. Plain paired t-tests over CV folds are
  over-confident because the training sets of different folds overlap; Nadeau & Bengio
  (2003, Machine Learning 52:239) inflate the variance by ``n_test / n_train``:
  ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` with J - 1 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Summary:
    """Mean, spread and a 95% t-interval of one metric over (seed, fold) cells."""

    mean: float
    sd: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PairedComparison:
    """A condition against the baseline on the same cells."""

    delta: float  # mean difference, condition - baseline
    low: float  # bootstrap 95% interval of the mean difference
    high: float
    t: float  # Nadeau-Bengio corrected t statistic
    p: float  # two-sided p-value, J - 1 degrees of freedom
    n: int  # number of paired cells


def summarize(values, confidence: float = 0.95) -> Summary:
    """Mean, sample sd and a t-interval; a single value gets a zero-width interval."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Summary(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if x.size == 1:
        return Summary(mean, 0.0, mean, mean, 1)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=x.size - 1)) * sd / np.sqrt(x.size)
    return Summary(mean, sd, mean - half, mean + half, int(x.size))


def bootstrap_interval(
    differences, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences."""
    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        return float("nan"), float("nan")
    if d.size == 1:
        return float(d[0]), float(d[0])
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def corrected_t_test(differences, *, test_fraction: float) -> tuple[float, float]:
    """Nadeau-Bengio corrected resampled t-test; ``test_fraction`` = n_test / n_train.

    With a fixed train/test split (one test set reused across seeds) the correction does not
    apply in the same way; pass ``test_fraction=0`` there to get the plain paired t-test.
    """
    d = np.asarray(differences, dtype=float)
    j = d.size
    if j < 2:
        return float("nan"), float("nan")
    variance = d.var(ddof=1)
    if variance == 0:
        mean = d.mean()
        return (float("inf") * np.sign(mean), 0.0) if mean != 0 else (0.0, 1.0)
    t = d.mean() / np.sqrt((1 / j + test_fraction) * variance)
    p = 2 * stats.t.sf(abs(t), df=j - 1)
    return float(t), float(p)


def paired_comparison(
    condition, baseline, *, test_fraction: float, confidence: float = 0.95, seed: int = 0
) -> PairedComparison:
    """Compares aligned per-cell scores (same order of (seed, fold) cells in both)."""
    a, b = np.asarray(condition, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must align: {a.shape} vs {b.shape} cells")
    d = a - b
    low, high = bootstrap_interval(d, confidence=confidence, seed=seed)
    t, p = corrected_t_test(d, test_fraction=test_fraction)
    return PairedComparison(float(d.mean()), low, high, t, p, int(d.size))
