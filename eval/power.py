"""What a benchmark could have seen: the minimum detectable effect (MDE) of its own design.

A "no significant change" says little unless the run could have seen a change of the size
that matters. Per classifier, :func:`minimum_detectable_effect` finds the ΔF1 and ΔBrier (and,
on request, ΔAUROC) that the run's own paired test (:func:`detect.metrics.speaker_bootstrap`,
the interval of the summary table: its test speakers, seeds, folds and resampling) detects
with 80% power at α = 0.05. By simulation from the run's `none` predictions:

**Noise model.** An augmented classifier's out-of-fold P(AD) for transcript i under seed
(repeat) k is the baseline's, moved on the logit scale::

    logit p'_ik = logit p_ik + δ (y_i - 1/2) + u_i + e_ik,   u_i ~ N(0, σ_u²), e_ik ~ N(0, σ_e²)

δ is the planted effect: AD and HC scores pulled δ logits further apart (δ > 0 is a gain).
u_i is how training on other data moves a transcript's score the same way under every seed
(a deterministic classifier moves it once), e_ik how it moves from seed to seed. σ_u and σ_e
are measured on the run itself (:func:`measured_noise`): the within-class spread of
logit(p_condition) - logit(p_none), split into its part shared by the seeds and the rest, the
median over the classifier's condition x ratio rows (the negative control left out: it is
built to move predictions far). A run with `none` alone has nothing to measure it on and takes
σ_u = the within-class spread of the `none` logits (:data:`DEFAULT_NOISE`; on the `controls`
profile the measured σ_u is of the same order: bench-results/README.md, B5).

**Simulated runs.** Each is a new test set (AD and HC speakers drawn with replacement from the
run's, K-fold's folds dealt afresh) with δ planted under fresh noise, and the project's paired
test run on it: its percentile bootstrap (200 resamples here, the same resampling and the same
p-value rule, :func:`detect.metrics.percentile_interval`) detects δ when p < α. Power(δ) is the
share of 200 runs that detect it; every δ reuses the same draws, so power rises smoothly with
δ, and bisection finds δ80, the effect detected 80% of the time. A statistic's MDE is its mean
|Δ| = |statistic(planted) - statistic(none)| over the runs at its own δ80.

**Checked** (tests/eval/test_power.py): on fresh runs from a known population, an effect
planted at the computed size is detected by the real bootstrap about 80% of the time. One run's
MDE is an estimate (of its noise above all): with 48 test speakers, single runs' computed sizes
were detected more or less often than that (figures: bench-results/README.md, B5).

A classifier whose `none` predictions do not vary (the majority baseline) has no ranking for
an effect to act on: its MDE is n/a. An effect that no δ brings to 80% power (a statistic
near its ceiling) is n/a too, and says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detect.metrics import DEFAULT_THRESHOLD, TestSet, percentile_interval, weighted_metrics

logger = logging.getLogger(__name__)

POWER = 0.8
ALPHA = 0.05
STATISTICS: tuple[str, ...] = ("f1", "brier", "auroc")  # AUROC: far slower (bench-results/README.md, B26)
DEFAULT_NOISE = 1.0  # σ_u, in units of the within-class spread of the `none` logits, when nothing measures it
RUNS = 200  # simulated runs per power estimate: a power of 0.8 is then known to about ±0.03
RESAMPLES = 200  # each run's own bootstrap (the table's takes 2000; 200 decides p < 0.05 nearly as often)
_LOGIT_CLIP = 1e-6  # P(AD) of exactly 0 or 1 has no logit


@dataclass(frozen=True)
class Detectable:
    """One classifier's minimum detectable effects (sizes, >= 0) and what they rest on."""

    classifier: str
    mde: dict[str, float]  # statistic -> |Δ| detected with 80% power (Brier: a decrease); NaN: n/a
    separation: dict[str, float]  # statistic -> the planted δ (logits) at 80% power
    noise: tuple[float, float]  # (σ_u, σ_e) in logits
    measured_on: int  # condition x ratio rows the noise was measured on; 0: the default
    note: str = ""  # why an MDE is n/a
    power: float = POWER
    alpha: float = ALPHA


def logits(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    return np.log(q / (1 - q))


def measured_noise(base: TestSet, arms: Sequence[TestSet]) -> tuple[float, float, int]:
    """(σ_u, σ_e, rows used): how other conditions' logits differ from `none`'s beyond a class shift.

    Per arm: d = logit(arm) - logit(none) per transcript and seed, less its mean per seed and
    class (that is the arm's effect, not noise); σ_e² is the mean variance of d over seeds,
    σ_u² what is left of the variance of each transcript's seed-mean of d. The median over arms.
    """
    shared, seedwise = [], []
    for arm in arms:
        try:
            ours, theirs = arm.paired_with(base)
        except ValueError as error:
            logger.warning("power: an arm left out of the noise estimate: %s", error)
            continue
        d = logits(ours.proba) - logits(theirs.proba)  # (seeds, n)
        for c in (0, 1):
            d[:, base.y == c] -= d[:, base.y == c].mean(axis=1, keepdims=True)
        n_seeds = d.shape[0]
        within = float(d.var(axis=0, ddof=1).mean()) if n_seeds > 1 else 0.0
        between = float(d.mean(axis=0).var(ddof=1)) - within / n_seeds
        shared.append(math.sqrt(max(between, 0.0)))
        seedwise.append(math.sqrt(within))
    if not shared:
        return math.nan, math.nan, 0
    return float(np.median(shared)), float(np.median(seedwise)), len(shared)


@dataclass
class _Simulation:
    """Fixed draws of simulated runs and of each run's bootstrap (common random numbers), for any δ.

    Run r is a new test set: AD and HC speakers drawn with replacement from the run's own, and
    fresh noise. Its bootstrap redraws them from run r's draw as
    :func:`detect.metrics.speaker_bootstrap` does, with the seeds (fixed split) or the folds
    within each seed (K-fold): ``weights`` holds per seed (runs, resamples + 1, n) transcript
    weights, each run's bootstrap weightings and, last, its own test set; ``seed_counts``
    (runs, resamples, seeds) how often each seed was drawn.
    """

    base: TestSet
    sigma_u: float
    sigma_e: float
    runs: int
    resamples: int
    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        y, n_seeds = self.base.y, len(self.base.seeds)
        codes, by_class = self.base.speaker_classes()
        speakers = codes.max() + 1
        folds = [f.max() + 1 for f in self.base.fold_codes()] if self.base.pooled else [0] * n_seeds
        # Each run draws every class's speakers with replacement: its copies. Its bootstrap redraws
        # copies (``positions``); under K-fold every seed deals the run's copies to folds afresh,
        # balanced within class, and its bootstrap draws folds, each copy weighing as often as its
        # fold was drawn. Dealing copies, not speakers, keeps a speaker drawn twice from piling into
        # one fold, which would make the folds vary more than a real run's do.
        outer = np.zeros((self.runs, speakers), dtype=np.float32)
        inner = np.zeros((n_seeds, self.runs, self.resamples, speakers), dtype=np.float32)
        fold_draws = [
            _tally(rng.integers(0, k, (self.runs * self.resamples, k)), k).reshape(self.runs, self.resamples, k)
            if k
            else None
            for k in folds
        ]
        rows = np.arange(self.runs)[:, None, None] * self.resamples + np.arange(self.resamples)[None, :, None]
        for members in by_class:
            drawn = members[rng.integers(0, members.size, (self.runs, members.size))]  # (runs, copies)
            outer += _tally(drawn, speakers)
            positions = rng.integers(0, members.size, (self.runs, self.resamples, members.size))
            copies = np.take_along_axis(drawn[:, None, :], positions, axis=2)  # (runs, resamples, copies)
            for k in range(n_seeds):
                draws_k = fold_draws[k]
                if draws_k is None:
                    weight = np.ones(copies.shape, dtype=np.float32)
                else:
                    dealt = np.argsort(rng.random((self.runs, members.size)), axis=1) % folds[k]  # copy -> fold
                    fold_of = np.take_along_axis(dealt[:, None, :], positions, axis=2)
                    weight = np.take_along_axis(draws_k, fold_of, axis=2)
                flat = (copies + speakers * rows).ravel()
                inner[k] += (
                    np.bincount(flat, weights=weight.ravel(), minlength=self.runs * self.resamples * speakers)
                    .reshape(self.runs, self.resamples, speakers)
                    .astype(np.float32)
                )
        # per seed (runs, resamples + 1, n): the run's bootstrap weightings, then its own test set
        self.weights = [np.concatenate([inner[k], outer[:, None, :]], axis=1)[..., codes] for k in range(n_seeds)]
        self.seed_counts = (
            np.ones((self.runs, self.resamples, n_seeds))
            if self.base.pooled
            # every repeat once
            else _tally(rng.integers(0, n_seeds, (self.runs * self.resamples, n_seeds)), n_seeds).reshape(
                self.runs, self.resamples, n_seeds
            )
        )
        self.shared = rng.standard_normal((self.runs, y.size))
        self.seedwise = rng.standard_normal((self.runs, n_seeds, y.size))
        self.logits = logits(self.base.proba)  # (seeds, n)
        self._baseline: dict[str, np.ndarray] = {}

    def _score(self, statistic: str, p: np.ndarray, k: int) -> np.ndarray:
        """``statistic`` of each run's predictions p (runs, n) of seed k under its bootstrap weightings
        and, last, its own test set: (runs, resamples + 1)."""
        return batch_metric(statistic, self.base.y, p, self.weights[k], threshold=self.base.thresholds[k])

    def _base(self, statistic: str) -> np.ndarray:
        """The `none` arm's scores, the same at every δ: (seeds, runs, resamples + 1)."""
        if statistic not in self._baseline:
            self._baseline[statistic] = np.stack(
                [
                    self._score(statistic, np.broadcast_to(p, (self.runs, p.size)), k)
                    for k, p in enumerate(self.base.proba)
                ]
            )
        return self._baseline[statistic]

    def outcome(self, statistic: str, delta: float, alpha: float) -> tuple[float, float]:
        """(share of runs whose paired bootstrap detects δ, mean |Δ| on the runs' test sets)."""
        y, n_seeds = self.base.y, len(self.base.seeds)
        base = self._base(statistic)
        cells = np.empty((self.runs, self.resamples + 1, n_seeds))
        for k in range(n_seeds):
            shifted = (
                self.logits[k] + delta * (y - 0.5) + self.sigma_u * self.shared + self.sigma_e * self.seedwise[:, k]
            )
            cells[..., k] = self._score(statistic, 1 / (1 + np.exp(-np.clip(shifted, -30, 30))), k) - base[k]
        draws = (cells[:, :-1] * self.seed_counts).sum(axis=2) / n_seeds  # (runs, resamples)
        detected = [percentile_interval(row, 1 - alpha)[2] < alpha for row in draws]
        return float(np.mean(detected)), float(abs(np.nanmean(cells[:, -1])))


def _tally(draws: np.ndarray, size: int) -> np.ndarray:
    """(rows, k) drawn indices -> (rows, size) float32: how often each index was drawn."""
    rows = draws.shape[0]
    flat = (draws + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size).astype(np.float32)


def batch_metric(
    statistic: str, y: np.ndarray, p: np.ndarray, w: np.ndarray, threshold: float | np.ndarray = DEFAULT_THRESHOLD
) -> np.ndarray:
    """A metric of each row of predictions p (runs, n) under each of its weightings w (runs, b, n): (runs, b).

    :func:`detect.metrics.weighted_metrics` for one prediction vector per row (tested equal);
    F1 and Brier in one pass over all rows, AUROC row by row. ``threshold``: F1's, one or one per
    transcript (a simulated arm keeps the baseline's: the planted effect moves scores, not the rule).
    """
    ad = y.astype(bool)
    if statistic == "brier":  # in w's precision: float32 weights with float64 values: slower (bench-results B26)
        total = w.sum(axis=2)  # 0 where a K-fold resample drew only folds none of its speakers are in: NaN
        squared = np.einsum("rbn,rn->rb", w, ((p - y) ** 2).astype(w.dtype))
        return np.where(total > 0, squared / np.where(total > 0, total, 1), np.nan)
    if statistic == "f1":
        pred = p >= threshold
        tp, fp, fn = (np.einsum("rbn,rn->rb", w, mask.astype(w.dtype)) for mask in (ad & pred, ~ad & pred, ad & ~pred))
        den = 2 * tp + fp + fn
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)
    return np.stack(
        [weighted_metrics(y, row, weights, metrics=[statistic])[statistic] for row, weights in zip(p, w, strict=True)]
    )


def minimum_detectable_effect(
    classifier: str,
    base: pd.DataFrame,
    arms: Sequence[pd.DataFrame] = (),
    *,
    power: float = POWER,
    alpha: float = ALPHA,
    runs: int = RUNS,
    resamples: int = RESAMPLES,
    statistics: Sequence[str] = STATISTICS,
    seed: int = 0,
) -> Detectable:
    """The MDE of each of ``statistics`` for one classifier (see the module docstring).

    ``base``: its `none` out-of-fold predictions; ``arms``: its other conditions' (for the
    noise model), each with the columns of :data:`detect.metrics.PREDICTION_COLUMNS`.
    """
    test = TestSet.of(base)
    nan = dict.fromkeys(statistics, math.nan)
    spread = _within_class_spread(test)
    if spread == 0:
        return Detectable(
            classifier,
            nan,
            nan,
            (math.nan, math.nan),
            0,
            "constant P(AD) under `none`: no ranking for an effect to act on",
            power,
            alpha,
        )
    sigma_u, sigma_e, rows = measured_noise(test, [TestSet.of(a) for a in arms])
    if rows == 0:
        sigma_u, sigma_e = DEFAULT_NOISE * spread, 0.0
    simulation = _Simulation(test, sigma_u, sigma_e, runs, resamples, seed)
    mde, separation, notes = {}, {}, []
    for statistic in statistics:
        found = _bisect(simulation, statistic, power, alpha, scale=max(spread, sigma_u))
        if found is None:
            mde[statistic] = separation[statistic] = math.nan
            notes.append(f"no planted effect brings Δ{statistic} to {power:.0%} power")
        else:
            separation[statistic], mde[statistic] = found
    return Detectable(classifier, mde, separation, (sigma_u, sigma_e), rows, "; ".join(notes), power, alpha)


def _within_class_spread(test: TestSet) -> float:
    values = logits(test.proba)
    return float(np.sqrt(np.mean([values[:, test.y == c].var() for c in (0, 1)])))


def _bisect(
    simulation: _Simulation, statistic: str, power: float, alpha: float, *, scale: float
) -> tuple[float, float] | None:
    """(δ80, mean |Δ| there), or None when no δ up to 2^12 x ``scale`` gets there."""
    low, high = 0.0, scale / 4
    for _ in range(15):
        if simulation.outcome(statistic, high, alpha)[0] >= power:
            break
        low, high = high, high * 2
    else:
        return None
    for _ in range(8):  # to 1/256 of the bracket: about what 200 runs can tell apart
        middle = (low + high) / 2
        if simulation.outcome(statistic, middle, alpha)[0] >= power:
            high = middle
        else:
            low = middle
    return high, simulation.outcome(statistic, high, alpha)[1]


def design_power(
    predictions: pd.DataFrame,
    *,
    control: str | None = None,
    power: float = POWER,
    alpha: float = ALPHA,
    runs: int = RUNS,
    statistics: Sequence[str] = STATISTICS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per classifier: ``mde_<statistic>``, ``separation_<statistic>``, the noise and a note.

    ``predictions``: the benchmark's kept out-of-fold predictions (columns classifier,
    condition, ratio and those of :data:`detect.metrics.PREDICTION_COLUMNS`); ``control``: a
    condition left out of the noise estimate (the negative control).
    """
    rows = []
    for classifier, own in predictions.groupby("classifier", sort=False):
        base = own[own.condition == "none"]
        if base.empty:
            continue
        arms = [
            frame
            for (condition, _), frame in own[own.condition != "none"].groupby(["condition", "ratio"], sort=False)
            if condition != control
        ]
        found = minimum_detectable_effect(
            str(classifier), base, arms, power=power, alpha=alpha, runs=runs, statistics=statistics, seed=seed
        )
        rows.append(
            {
                "classifier": found.classifier,
                **{f"mde_{s}": found.mde[s] for s in statistics},
                **{f"separation_{s}": found.separation[s] for s in statistics},
                "noise_shared": found.noise[0],
                "noise_seed": found.noise[1],
                "noise_rows": found.measured_on,
                "mde_note": found.note,
            }
        )
    return pd.DataFrame(rows)
