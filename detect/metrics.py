"""Binary AD-detection metrics for one fold, and their summary over folds x seeds.

AD is the positive class (1) everywhere: F1, sensitivity and the AUROC's ranking are
about finding AD speakers; specificity is the HC recall. The Brier score and the log-loss
are proper scores of P(AD) itself (lower is better): like the AUROC they need no decision
threshold, and unlike it they also see a change in how sure the classifier is. Every value
of one fold is computed by scikit-learn so the numbers mean what the literature means by them.

Summaries, each giving an interval and a p-value from one distribution (so an interval excludes
0 exactly when p < 0.05):

* out-of-fold predictions of a fixed test set scored under several seeds (the ADReSS split), or
  of repeated K-fold (every speaker once per repeat): :func:`speaker_bootstrap`, a stratified
  bootstrap over test speakers and seeds (fixed split) or speakers and each repeat's folds
  (K-fold);
* per-cell values of repeated K-fold: :func:`summarize`, the Nadeau-Bengio corrected t over cells
  (``detect cv``, and benchmark scores kept without predictions).

Both summarise a metric (interval only: a metric against 0 is no question) or, given a
baseline, the paired difference to it (interval and p).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    recall_score,
    roc_auc_score,
)

logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("f1", "macro_f1", "accuracy", "auroc", "sensitivity", "specificity", "brier", "log_loss")
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "log_loss"})
UNBOUNDED: frozenset[str] = frozenset({"log_loss"})  # every other metric lies in [0, 1]


def metric_bounds(metric: str, *, difference: bool = False) -> tuple[float, float]:
    """What a metric, or a difference of two of its values, can be."""
    high = math.inf if metric in UNBOUNDED else 1.0
    return (-high, high) if difference else (0.0, high)


DEFAULT_THRESHOLD = 0.5  # F1's decision: P(AD) >= it is AD, unless a rule chose another (detect.classifiers.threshold)
PREDICTION_COLUMNS: tuple[str, ...] = ("seed", "id", "speaker_id", "y_true", "p_ad")  # and, optionally, threshold


@dataclass(frozen=True)
class FoldMetrics:
    """One evaluation of one classifier on one test fold (one seed)."""

    seed: int
    fold: int
    n_train: int  # transcripts used for fitting, extras included
    n_test: int
    f1: float  # AD positive
    macro_f1: float
    accuracy: float
    auroc: float  # nan when the test fold holds one class only
    sensitivity: float  # AD recall
    specificity: float  # HC recall
    brier: float = math.nan  # mean (P(AD) - y)^2; NaN in rows from before it was scored
    log_loss: float = math.nan  # mean -log P(true label), P clipped to [eps, 1 - eps] as scikit-learn does
    n_extra: int = 0  # extra (e.g. synthetic) training transcripts among n_train
    threshold: float = DEFAULT_THRESHOLD  # F1's (and the other decision metrics') threshold on P(AD)

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def binary_metrics(y_true: ArrayLike, proba: ArrayLike, *, threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """The metrics of :data:`METRICS` from labels (1 = AD) and P(AD).

    Examples
    --------
    >>> m = binary_metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6])
    >>> m["accuracy"], m["sensitivity"], m["specificity"]
    (0.5, 0.5, 0.5)
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(proba, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.shape[0]} labels but proba has {p.shape[0]} scores")
    if y.size == 0:
        raise ValueError("cannot score an empty test set")
    pred = (p >= threshold).astype(int)
    # labels=[0, 1] keeps the matrix 2x2 even when a fold lacks one class.
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "f1": float(f1_score(y, pred, pos_label=1, zero_division=0)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "auroc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else math.nan,
        "sensitivity": float(recall_score(y, pred, pos_label=1, zero_division=0)) if tp + fn else math.nan,
        "specificity": float(tn / (tn + fp)) if tn + fp else math.nan,
        "brier": float(brier_score_loss(y, p, pos_label=1)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
    }


def weighted_metrics(
    y_true: ArrayLike,
    proba: ArrayLike,
    weights,
    *,
    metrics: Sequence[str] = METRICS,
    threshold: float | np.ndarray = DEFAULT_THRESHOLD,
) -> dict[str, np.ndarray]:
    """:func:`binary_metrics` under case weights, for many weightings at once.

    ``weights`` is (b, n): row k says how often each of the n transcripts was drawn in
    resample k (a bootstrap resample is such a weighting). Returns a (b,) array per metric
    asked for; with weights of 1 the values are :func:`binary_metrics` (tested against
    scikit-learn's ``sample_weight``), and a metric that is undefined there is NaN here too.
    ``threshold``: one for all, or one per transcript (K-fold pools folds whose detectors chose
    their own).
    """
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(proba, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    pred = p >= threshold
    tp, fn = w @ (y & pred), w @ (y & ~pred)
    fp, tn = w @ (~y & pred), w @ (~y & ~pred)
    f1_ad = _ratio(2 * tp, 2 * tp + fp + fn, empty=0.0)  # zero_division=0, as in binary_metrics
    formulas = {
        "f1": lambda: f1_ad,
        "macro_f1": lambda: (f1_ad + _ratio(2 * tn, 2 * tn + fn + fp, empty=0.0)) / 2,
        "accuracy": lambda: _ratio(tp + tn, tp + fn + fp + tn, empty=math.nan),
        "auroc": lambda: _weighted_auroc(y, p, w),  # the costly one: only when asked for
        "sensitivity": lambda: _ratio(tp, tp + fn, empty=math.nan),
        "specificity": lambda: _ratio(tn, tn + fp, empty=math.nan),
        "brier": lambda: _ratio(w @ (p - y) ** 2, w.sum(axis=1), empty=math.nan),
        "log_loss": lambda: _ratio(
            w @ -np.log(np.where(y, _clipped(p), 1 - _clipped(p))), w.sum(axis=1), empty=math.nan
        ),
    }
    return {m: formulas[m]() for m in metrics}


def _clipped(p: np.ndarray) -> np.ndarray:
    """P(AD) kept off 0 and 1 as scikit-learn's log_loss keeps it: a certain wrong answer costs 36, not infinity."""
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


def _ratio(num: np.ndarray, den: np.ndarray, *, empty: float) -> np.ndarray:
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


def _weighted_auroc(y: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mann-Whitney form: the weighted share of (AD, HC) pairs ranked right, ties counting half."""
    order = np.argsort(scores, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(scores[order])) + 1]  # one group per distinct score
    ranked = w[:, order]
    ad = np.add.reduceat(ranked * y[order], starts, axis=1)  # (b, scores): weight of each class at each score
    hc = np.add.reduceat(ranked * ~y[order], starts, axis=1)
    hc_below = np.cumsum(hc, axis=1) - hc
    wins = (ad * (hc_below + 0.5 * hc)).sum(axis=1)
    return _ratio(wins, ad.sum(axis=1) * hc.sum(axis=1), empty=math.nan)


# -- summaries ------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSummary:
    """A metric, or its paired difference to a baseline, over n cells (seeds x folds).

    ``sd`` is the spread of the n cell values. The interval and ``p`` (two-sided, mean = 0:
    meaningful for differences) come from one distribution, named by ``method``, so the
    interval excludes 0 exactly when p < 1 - confidence. A t summary of one value has no
    variance to estimate: sd, interval and p are NaN (shown as "n/a"), never a zero-width
    interval that would claim certainty.
    """

    metric: str
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    n: int
    p: float = math.nan
    method: str = "t"


def nadeau_bengio_fraction(n_test, n_train) -> float:
    """Nadeau-Bengio's n_test / n_train, averaged over cells (n_train: real training transcripts)."""
    return float(np.mean(np.asarray(n_test, dtype=float) / np.asarray(n_train, dtype=float)))


def summarize(
    values: Iterable[float],
    metric: str = "",
    *,
    test_fraction: float = 0.0,
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> MetricSummary:
    """Mean, sd, t-interval and t-test of mean = 0 over J cells, corrected for K-fold CV.

    Cells of repeated K-fold CV are not independent (their training sets overlap), so the
    plain variance of the mean, var/J, is too small. Nadeau & Bengio (2003, Machine Learning
    52:239) use ``(1/J + n_test/n_train) * var`` instead; ``test_fraction`` is that
    n_test/n_train, 0 for the plain t-interval and paired t-test. Interval and p share this
    variance and J - 1 degrees of freedom. NaNs (AUROC on a one-class fold) are left out.
    ``bounds``: what the metric (or difference) can be, e.g. (0, 1) for F1 or (-1, 1) for ΔF1;
    a t-interval knows nothing of them and is clipped to them (which never moves 0 in or out).

    Examples
    --------
    >>> s = summarize([0.02, 0.04, 0.03, 0.05], "delta_f1", test_fraction=0.25)
    >>> round(s.mean, 3), s.ci_low > 0, s.p < 0.05
    (0.035, True, True)
    >>> math.isnan(summarize([0.7]).ci_low)
    True
    """
    if test_fraction < 0:
        raise ValueError(f"test_fraction is n_test / n_train, >= 0; got {test_fraction}")
    method = "corrected t" if test_fraction > 0 else "t"
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = int(arr.size)
    if n == 0:
        return MetricSummary(metric, math.nan, math.nan, math.nan, math.nan, 0, math.nan, method)
    mean = float(arr.mean())
    if n == 1:
        return MetricSummary(metric, mean, math.nan, math.nan, math.nan, 1, math.nan, method)
    sd = float(arr.std(ddof=1))
    se = sd * math.sqrt(1 / n + test_fraction)
    if se == 0:  # identical cells: the interval is the point, and it excludes 0 unless it is 0
        return MetricSummary(metric, mean, sd, mean, mean, n, 1.0 if mean == 0 else 0.0, method)
    low, high = stats.t.interval(confidence, df=n - 1, loc=mean, scale=se)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    p = float(2 * stats.t.sf(abs(mean) / se, df=n - 1))
    return MetricSummary(metric, mean, sd, float(low), float(high), n, p, method)


@dataclass(frozen=True)
class TestSet:
    """Out-of-fold predictions as arrays: transcripts sorted by id, one row of P(AD) per seed.

    A fixed split scores the same test transcripts under every seed; repeated K-fold scores
    every transcript once per seed (a repeat), each in one of that repeat's folds.
    """

    ids: np.ndarray  # (n,)
    y: np.ndarray  # (n,), 1 = AD
    speakers: np.ndarray  # (n,)
    proba: np.ndarray  # (seeds, n) P(AD)
    folds: np.ndarray  # (seeds, n): the fold that tested each transcript (0 everywhere for a fixed split)
    seeds: tuple[int, ...]
    thresholds: np.ndarray  # (seeds, n): each prediction's decision threshold (0.5 where none was kept)

    @classmethod
    def of(cls, predictions: pd.DataFrame) -> TestSet:
        missing = [c for c in PREDICTION_COLUMNS if c not in predictions]
        if missing:
            raise ValueError(f"predictions lack column(s) {missing}; expected {list(PREDICTION_COLUMNS)}")
        frame = predictions if "fold" in predictions else predictions.assign(fold=0)
        wide = frame.pivot(index="id", columns="seed", values="p_ad").sort_index()
        if wide.isna().any().any():
            raise ValueError(
                "every seed must score the same transcripts (the fixed split's test set, or every "
                "transcript once per repeat of K-fold)"
            )
        folds = frame.pivot(index="id", columns="seed", values="fold").loc[wide.index]
        first = frame.drop_duplicates("id").set_index("id").loc[wide.index]
        thresholds = (
            frame.pivot(index="id", columns="seed", values="threshold").loc[wide.index].to_numpy(dtype=float).T
            if "threshold" in frame
            else np.full(wide.shape[::-1], DEFAULT_THRESHOLD)
        )
        return cls(
            wide.index.to_numpy(),
            first.y_true.to_numpy(dtype=int),
            first.speaker_id.to_numpy(),
            wide.to_numpy(dtype=float).T,
            folds.to_numpy().T,
            tuple(int(s) for s in wide.columns),
            np.where(np.isnan(thresholds), DEFAULT_THRESHOLD, thresholds),
        )  # NaN: kept before thresholds were

    def on_seeds(self, seeds: Sequence[int]) -> TestSet:
        rows = [self.seeds.index(s) for s in seeds]
        return dataclasses.replace(
            self, proba=self.proba[rows], folds=self.folds[rows], seeds=tuple(seeds), thresholds=self.thresholds[rows]
        )

    def paired_with(self, baseline: TestSet) -> tuple[TestSet, TestSet]:
        """Both arms on the seeds they share; they must test the same transcripts, labels and folds."""
        if list(baseline.ids) != list(self.ids) or not np.array_equal(baseline.y, self.y):
            raise ValueError("a paired bootstrap needs the same test transcripts (and labels) in both arms")
        common = sorted(set(self.seeds) & set(baseline.seeds))
        if not common:
            raise ValueError(f"no seed in both arms: {list(self.seeds)} vs {list(baseline.seeds)}")
        ours, theirs = self.on_seeds(common), baseline.on_seeds(common)
        if not np.array_equal(ours.folds, theirs.folds):
            raise ValueError("a paired bootstrap needs the same folds in both arms")
        return ours, theirs

    @property
    def pooled(self) -> bool:
        """K-fold: some seed tests its transcripts in several folds, whose predictions are pooled."""
        return any(len(set(f)) > 1 for f in self.folds)

    def fold_codes(self) -> list[np.ndarray]:
        """Per seed, each transcript's fold as 0..K-1."""
        return [pd.factorize(pd.Series(f))[0] for f in self.folds]

    def speaker_classes(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each transcript's speaker as 0..S-1, and the speakers of each class (AD, then HC)."""
        codes, _ = pd.factorize(pd.Series(self.speakers))
        label = pd.Series(self.y, index=codes).groupby(level=0).first()
        return codes, [label.index[label == c].to_numpy() for c in (1, 0)]


def speaker_bootstrap(
    predictions: pd.DataFrame,
    metric: str = "f1",
    *,
    baseline: pd.DataFrame | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> MetricSummary:
    """A metric of out-of-fold predictions over their seeds, or its paired difference to a baseline.

    ``predictions`` (and ``baseline``): one row per test transcript and seed, with the columns of
    :data:`PREDICTION_COLUMNS` (and ``fold`` under K-fold, see :class:`TestSet`); the baseline
    holds the same transcripts and folds, and only seeds present in both are used. The statistic
    is the metric of each seed's predictions (under K-fold: its folds pooled, every speaker tested
    once), averaged over seeds, minus the baseline's on the same resample.

    ``scipy.stats.bootstrap`` resamples, each with replacement and independently: AD speakers
    and HC speakers (stratified by class, so every resample keeps the test set's balance and
    AUROC stays defined; a speaker drawn twice brings all their transcripts twice), and then

    * on a fixed split (one fold per seed): the seeds, because the classifiers' own randomness
      is part of what a rerun would change;
    * under K-fold: the folds within each seed (each fold's classifier is one draw of a training
      set); the seeds, which test the same speakers, are not.

    The interval takes the percentile interval's order statistics, and p (for a difference only;
    NaN without a baseline) = 2 min(P*(d <= 0), P*(d >= 0)) over the same draws: one rule, so 0
    is outside the interval exactly when p < 1 - confidence (scipy's own percentile interval
    interpolates between draws and could disagree with any p-value at the edge). A percentile
    interval never leaves the range the metric can take.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {list(METRICS)}")
    arms = [TestSet.of(predictions)]
    if baseline is not None:
        arms = list(arms[0].paired_with(TestSet.of(baseline)))
    test = arms[0]
    y, n_seeds, pooled = test.y, len(test.seeds), test.pooled

    def per_seed(weights: list[np.ndarray]) -> np.ndarray:
        """A (b, n) transcript weighting per seed -> (b, seeds) metric, minus the baseline's."""
        values = [
            np.stack(
                [
                    weighted_metrics(y, p, w, metrics=[metric], threshold=t)[metric]
                    for p, w, t in zip(arm.proba, weights, arm.thresholds, strict=True)
                ],
                axis=1,
            )
            for arm in arms
        ]
        return values[0] - values[1] if len(values) == 2 else values[0]

    codes, by_class = test.speaker_classes()
    folds = test.fold_codes()
    observed = per_seed([np.ones((1, y.size))] * n_seeds)[0]  # one value per seed, on the test set as it is
    sd = float(observed.std(ddof=1)) if n_seeds > 1 else math.nan
    method = "pooled speaker bootstrap" if pooled else "speaker bootstrap"
    if min(len(c) for c in by_class) < 2:
        logger.warning("%s: a speaker bootstrap needs 2 AD and 2 HC test speakers at least; interval n/a", metric)
        return MetricSummary(metric, float(observed.mean()), sd, math.nan, math.nan, n_seeds, math.nan, method)

    def statistic(*draws: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = [np.atleast_2d(d) for d in draws]
        counts = _counts(np.concatenate(rows[:2], axis=1), codes.max() + 1)[:, codes]  # (b, n)
        if pooled:  # each seed's folds drawn too; every seed counts once
            weights = [counts * _counts(d, f.max() + 1)[:, f] for d, f in zip(rows[2:], folds, strict=True)]
            return per_seed(weights).mean(axis=1)
        cells = per_seed([counts] * n_seeds)
        seed_weights = _counts(draws[2], n_seeds) if n_seeds > 1 else np.ones_like(cells)
        return (cells * seed_weights).sum(axis=1) / n_seeds

    if pooled:
        data = (*by_class, *(np.arange(f.max() + 1) for f in folds))
    else:
        data = (*by_class, np.arange(n_seeds)) if n_seeds > 1 else tuple(by_class)
    draws = stats.bootstrap(
        data, statistic, n_resamples=resamples, vectorized=True, method="percentile", rng=np.random.default_rng(seed)
    ).bootstrap_distribution
    low, high, p = percentile_interval(draws, confidence)
    if baseline is None:
        p = math.nan  # the metric itself against 0: a test nobody asks
    return MetricSummary(metric, float(observed.mean()), sd, low, high, n_seeds, p, method)


def _counts(draws: np.ndarray, size: int) -> np.ndarray:
    """(b, k) drawn indices -> (b, size): how often each index was drawn."""
    rows = draws.shape[0]
    flat = (draws + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size)


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(low, high, p) from a bootstrap distribution; 0 outside [low, high] <=> p < 1 - confidence."""
    d = np.sort(draws[np.isfinite(draws)])
    if d.size == 0:
        return math.nan, math.nan, math.nan
    # k-th smallest and k-th largest draw, k = ceil(B * alpha / 2): low > 0 exactly when fewer
    # than B * alpha / 2 draws are <= 0, which is p < alpha below (rounded so 0.05 stays 0.05).
    k = max(1, math.ceil(round(d.size * (1 - confidence) / 2, 9)))
    p = min(1.0, 2 * min(int((d <= 0).sum()), int((d >= 0).sum())) / d.size)
    return float(d[k - 1]), float(d[d.size - k]), p


def aggregate(
    rows: Sequence[FoldMetrics],
    *,
    metrics: Sequence[str] = METRICS,
    protocol: Literal["kfold", "adress"] = "kfold",
    predictions: pd.DataFrame | None = None,
) -> dict[str, MetricSummary]:
    """One :class:`MetricSummary` per metric over all rows (folds x seeds): mean, sd and interval.

    K-fold: :func:`summarize`, corrected by the rows' n_test / n_train (real transcripts).
    The fixed ADReSS split: :func:`speaker_bootstrap` of the out-of-fold ``predictions``.
    Intervals stay within what the metric can be; there is no p-value (``p`` is NaN): a test of
    a metric against 0 answers a question nobody asks.
    """
    names = {f.name for f in fields(FoldMetrics)}
    unknown = [m for m in metrics if m not in names]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    if protocol == "adress":
        if predictions is None:
            raise ValueError("the fixed-split summary bootstraps test speakers: pass the predictions")
        return {m: speaker_bootstrap(predictions, m) for m in metrics}
    fraction = nadeau_bengio_fraction([r.n_test for r in rows], [r.n_train - r.n_extra for r in rows]) if rows else 0.0
    return {
        m: dataclasses.replace(
            summarize((getattr(r, m) for r in rows), m, test_fraction=fraction, bounds=metric_bounds(m)), p=math.nan
        )
        for m in metrics
    }
