"""A condition against the no-augmentation baseline, and what its gain is worth in real data.

Every condition is scored on the same cells as `none`, so the comparison is paired. The
interval and p-value follow the protocol (both from :mod:`detect.metrics`, one distribution each):

* with out-of-fold predictions, both protocols: a paired bootstrap over speakers and seeds
  (:func:`detect.metrics.speaker_bootstrap`): the fixed ADReSS split over its test speakers;
  repeated K-fold over every speaker, each tested once per repeat, the repeat's folds pooled;
* K-fold scores without predictions (older runs): per-cell differences, Nadeau-Bengio corrected
  t (:func:`detect.metrics.summarize`), clipped to what the metric can move.

Why not the corrected t for K-fold: with a small training base (``protocol.reserve``) it takes
n_test / n_train from the base, and its intervals grow wider than F1 can move (real data:
``[-0.851, +1.135]``). Simulated at that design (``python -m bench intervals``: 150 speakers,
5-fold x 3, 90% reserve), it over-covered with intervals too wide to detect a positive control
(twice the base in real speakers) and sometimes reached beyond [-1, 1]; the bootstrap over
speakers and folds covers about what it claims and detects the positive control far more often.
Resampling the repeats instead of the folds (tried first) under-covered a negative control's
AUROC and Brier. Figures: bench-results/README.md, B1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from detect.metrics import MetricSummary, metric_bounds, nadeau_bengio_fraction, speaker_bootstrap, summarize

CELL = ["seed", "fold"]
Protocol = Literal["kfold", "adress"]


def delta_over_cells(
    condition: pd.DataFrame, baseline: pd.DataFrame, metric: str, *, confidence: float = 0.95
) -> MetricSummary:
    """K-fold: ``metric`` differences on the (seed, fold) cells both frames hold, corrected t.

    n_test / n_train comes from the baseline's cells (real training transcripts only: the
    correction is for overlapping samples of the corpus, and extras are not sampled from it).
    """
    a, b = condition.set_index(CELL)[metric], baseline.set_index(CELL)
    common = a.index.intersection(b.index)
    fraction = nadeau_bengio_fraction(b.n_test, b.n_train - b.get("n_extra", 0))
    return summarize(
        a.loc[common] - b.loc[common, metric],
        metric,
        test_fraction=fraction,
        confidence=confidence,
        bounds=metric_bounds(metric, difference=True),
    )


def delta_over_speakers(
    condition: pd.DataFrame,
    baseline: pd.DataFrame,
    metric: str,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> MetricSummary:
    """Paired bootstrap of ``metric`` over speakers and seeds of two predictions frames (fixed split or K-fold)."""
    return speaker_bootstrap(
        condition, metric, baseline=baseline, confidence=confidence, resamples=resamples, seed=seed
    )


# -- equivalent amount of real data --------------------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    """A ΔF1 read off the real-data curve: extra real transcripts per training transcript.

    A bound outside the curve's range is clipped to its end and flagged "<" or ">" (the
    curve says only that it is below no extra data, or beyond the largest real ratio).
    """

    ratio: float
    low: float
    high: float
    ratio_flag: str = ""
    low_flag: str = ""
    high_flag: str = ""

    def __str__(self) -> str:
        interval = "n/a" if math.isnan(self.low) else f"{self.low_flag}{self.low:.2g}, {self.high_flag}{self.high:.2g}"
        return f"{self.ratio_flag}{self.ratio:.2g} [{interval}]"


@dataclass(frozen=True)
class RealCurve:
    """ΔF1 against the ratio of added real transcripts, made non-decreasing, through (0, 0).

    The mean ΔF1 per ratio is noisy and may dip; an equivalent amount of data needs a curve
    that can be inverted, so it is the isotonic (non-decreasing) fit with ΔF1 >= 0 (adding no
    data gains nothing), interpolated linearly between ratios. Only the synthetic condition's
    interval is mapped through it: the curve's own uncertainty is not in the equivalent's
    interval.
    """

    ratios: np.ndarray  # 0 first, increasing
    gains: np.ndarray  # 0 first, non-decreasing

    @classmethod
    def fit(cls, ratios, deltas) -> RealCurve:
        x, y = np.asarray(ratios, dtype=float), np.asarray(deltas, dtype=float)
        keep = (x > 0) & np.isfinite(y)
        if not keep.any():
            raise ValueError("the real-data curve needs ΔF1 at one ratio > 0 at least")
        order = np.argsort(x[keep])
        x, y = x[keep][order], y[keep][order]
        fitted = IsotonicRegression(y_min=0.0, increasing=True).fit_transform(x, y)
        return cls(np.r_[0.0, x], np.r_[0.0, fitted])

    @property
    def gains_anything(self) -> bool:
        return bool(self.gains[-1] > 0)

    def inverse(self, gain: float, *, lowest: bool) -> tuple[float, str]:
        """The least (``lowest``) or greatest ratio whose ΔF1 is ``gain``, and "<"/">" when off the curve."""
        x, y = self.ratios, self.gains
        if gain < y[0]:
            return float(x[0]), "<"
        if gain > y[-1]:
            return float(x[-1]), ">"
        # On a flat stretch every ratio of it has this gain: take its first or its last.
        i = int(np.searchsorted(y, gain, side="left")) if lowest else int(np.searchsorted(y, gain, side="right")) - 1
        if y[i] == gain:
            return float(x[i]), ""
        j = i - 1 if lowest else i + 1  # y[j] < gain < y[i] or the other way round: a rising segment
        return float(x[j] + (gain - y[j]) * (x[i] - x[j]) / (y[i] - y[j])), ""

    def equivalent(self, delta: float, low: float, high: float) -> Equivalent | None:
        """A synthetic condition's ΔF1 (and its interval) as real data; None if real data gains nothing."""
        if not self.gains_anything or math.isnan(delta):
            return None
        first, flag = self.inverse(delta, lowest=True)
        last, _ = self.inverse(delta, lowest=False)
        if math.isnan(low) or math.isnan(high):
            return Equivalent((first + last) / 2, math.nan, math.nan, flag)
        lo, lo_flag = self.inverse(low, lowest=True)
        hi, hi_flag = self.inverse(high, lowest=False)
        return Equivalent((first + last) / 2, lo, hi, flag, lo_flag, hi_flag)
