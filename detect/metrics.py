"""Binary AD-detection metrics for one fold, and their aggregate over folds x seeds.

AD is the positive class (1) everywhere: F1, sensitivity and the AUROC's ranking are
about finding AD speakers; specificity is the HC recall. Every value is computed by
scikit-learn so the numbers mean what the literature means by them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score, roc_auc_score

METRICS: tuple[str, ...] = ("f1", "macro_f1", "accuracy", "auroc", "sensitivity", "specificity")
DEFAULT_THRESHOLD = 0.5


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
    n_extra: int = 0  # extra (e.g. synthetic) training transcripts among n_train

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class MetricSummary:
    """Mean, sample standard deviation and a 95% t-interval of one metric over n evaluations."""

    metric: str
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    n: int


def binary_metrics(y_true: Sequence[int], proba: Sequence[float], *, threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """The six metrics of :data:`METRICS` from labels (1 = AD) and P(AD).

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
    }


def summarize(values: Iterable[float], metric: str = "", *, confidence: float = 0.95) -> MetricSummary:
    """Mean, sd (ddof=1) and a t-interval; NaNs (e.g. AUROC on a one-class fold) are left out."""
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = int(arr.size)
    if n == 0:
        return MetricSummary(metric, math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(arr.mean())
    if n == 1:
        return MetricSummary(metric, mean, math.nan, math.nan, math.nan, 1)
    sd = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * sd / math.sqrt(n))
    return MetricSummary(metric, mean, sd, mean - half, mean + half, n)


def aggregate(rows: Sequence[FoldMetrics], *, metrics: Sequence[str] = METRICS) -> dict[str, MetricSummary]:
    """One :class:`MetricSummary` per metric over all rows (folds x seeds)."""
    names = {f.name for f in fields(FoldMetrics)}
    unknown = [m for m in metrics if m not in names]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    return {m: summarize((getattr(r, m) for r in rows), m) for m in metrics}
