"""The intervals cover a null difference as often as they claim, and real-data equivalents read right.

Coverage is checked by simulation: two classifiers of equal expected performance, compared
many times over. A 95% interval should contain the true difference (0) in about 95% of the
comparisons; one that claims more certainty than the design holds covers less.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from detect.metrics import speaker_bootstrap, summarize, weighted_metrics
from eval.stats import Equivalent, RealCurve


def ridge_fits(X: np.ndarray, labels: np.ndarray, train: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge classifiers (scikit-learn's RidgeClassifier, closed form), one per row of ``train``; (cells, n) labels.

    All cells are solved at once: the simulation needs thousands of fits, which one
    scikit-learn call per fold would take minutes for on a shared CPU.
    """
    target = 2.0 * labels - 1
    gram = np.einsum("jn,np,nq->jpq", train, X, X) + alpha * np.eye(X.shape[1])
    weights = np.linalg.solve(gram, np.einsum("jn,np,n->jp", train, X, target)[..., None])[..., 0]
    return (np.einsum("np,jp->jn", X, weights) > 0).astype(int)


def kfold_null_differences(
    rng: np.random.Generator, *, speakers: int = 60, sessions: int = 2, noise: int = 10, folds: int = 5, seeds: int = 3
) -> tuple[np.ndarray, float]:
    """Per-cell F1(A) - F1(B) of one simulated corpus under repeated speaker-grouped K-fold.

    A and B are the same learner on mirror-image feature sets (one informative feature each,
    equally strong, plus their own noise features): their expected F1 is equal by symmetry,
    so the true difference is 0. Speakers have a severity shared by their sessions.
    """
    y_speaker = np.r_[np.ones(speakers // 2), np.zeros(speakers // 2)].astype(int)
    speaker = np.repeat(np.arange(speakers), sessions)
    y = y_speaker[speaker]
    severity = 0.8 * (2 * y_speaker - 1)[:, None] + rng.normal(0, 1, (speakers, 2))
    informative = severity[speaker] + rng.normal(0, 1, (speaker.size, 2))
    ones = np.ones((speaker.size, 1))
    X = {arm: np.c_[ones, informative[:, arm], rng.normal(size=(speaker.size, noise))] for arm in (0, 1)}
    splits = [StratifiedKFold(folds, shuffle=True, random_state=int(rng.integers(1 << 30))) for _ in range(seeds)]
    train = np.array(
        [
            np.isin(speaker, train_speakers)
            for split in splits
            for train_speakers, _ in split.split(y_speaker, y_speaker)
        ],
        dtype=float,
    )
    test = 1 - train
    f1 = {
        arm: np.array(
            [
                weighted_metrics(y, pred, weights[None, :], metrics=["f1"])["f1"][0]
                for pred, weights in zip(ridge_fits(X[arm], y, train), test, strict=True)
            ]
        )
        for arm in (0, 1)
    }
    fraction = float(np.mean(test.sum(axis=1) / train.sum(axis=1)))
    return f1[0] - f1[1], fraction


@pytest.mark.slow
def test_corrected_interval_covers_a_null_difference_and_the_plain_t_does_not():
    rng = np.random.default_rng(11)
    runs = [kfold_null_differences(rng) for _ in range(400)]
    corrected = np.mean([(s := summarize(d, test_fraction=f)).ci_low <= 0 <= s.ci_high for d, f in runs])
    plain = np.mean([(s := summarize(d)).ci_low <= 0 <= s.ci_high for d, _ in runs])
    # Measured: corrected 0.96, plain t 0.72 (its 15 overlapping cells are not 15 independent ones).
    assert 0.90 <= corrected <= 0.99
    assert plain < 0.85


def fixed_split_null_pair(
    rng: np.random.Generator, *, n: int = 48, seeds: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of two classifiers of equal expected performance on one fresh test set.

    Both score a speaker from the same severity through two equally informative features,
    mirror images of each other (A weighs feature 1 more, B feature 2), and every seed
    perturbs a classifier's weights and threshold: the seed-averaged expected F1 of A and B is
    equal by symmetry, while on a finite test set with a few seeds they differ.
    """
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    features = rng.normal(0.8 * (2 * y - 1), 1.0)[:, None] + rng.normal(0, 1, (n, 2))
    ids = [f"t{i}" for i in range(n)]
    arms = []
    for weights in ((1.0, 0.5), (0.5, 1.0)):
        frames = []
        for seed in range(seeds):
            score = features @ (np.asarray(weights) + rng.normal(0, 0.3, 2)) + rng.normal(0, 0.3)
            frames.append(
                pd.DataFrame(
                    {"seed": seed, "id": ids, "speaker_id": ids, "y_true": y, "p_ad": 1 / (1 + np.exp(-score))}
                )
            )
        arms.append(pd.concat(frames, ignore_index=True))
    return arms[0], arms[1]


@pytest.mark.slow
def test_fixed_split_bootstrap_covers_a_null_difference():
    rng = np.random.default_rng(5)
    covered = []
    for rep in range(200):
        a, b = fixed_split_null_pair(rng)
        s = speaker_bootstrap(a, "f1", baseline=b, resamples=1000, seed=rep)
        covered.append(s.ci_low <= 0 <= s.ci_high)
    # Measured: 0.975 (and 0.98 for AUROC on the same draws).
    assert 0.90 <= np.mean(covered) <= 0.99


# -- equivalent amount of real data ------------------------------------------------------------


def test_real_curve_is_read_linearly_between_ratios():
    curve = RealCurve.fit([0.5, 1.0, 2.0], [0.02, 0.04, 0.05])
    assert curve.ratios.tolist() == [0.0, 0.5, 1.0, 2.0]
    found = curve.equivalent(0.03, 0.01, 0.045)
    assert (found.ratio, found.low, found.high) == pytest.approx((0.75, 0.25, 1.5))
    assert str(found) == "0.75 [0.25, 1.5]"


def test_bounds_off_the_curve_are_clipped_and_flagged():
    curve = RealCurve.fit([0.5, 1.0], [0.02, 0.04])
    assert str(curve.equivalent(0.01, -0.02, 0.06)) == "0.25 [<0, >1]"
    assert curve.equivalent(0.08, 0.06, 0.1) == Equivalent(1.0, 1.0, 1.0, ">", ">", ">")
    assert str(curve.equivalent(0.01, math.nan, math.nan)) == "0.25 [n/a]"


def test_a_dip_in_the_real_curve_is_pooled_and_a_flat_stretch_is_read_at_both_ends():
    # 0.03 then 0.01: pooled to 0.02 at both ratios, so ΔF1 0.02 is any ratio in [0.5, 1]
    curve = RealCurve.fit([1.0, 0.5, 2.0], [0.01, 0.03, 0.06])
    assert curve.gains.tolist() == pytest.approx([0.0, 0.02, 0.02, 0.06])
    assert curve.inverse(0.02, lowest=True) == (0.5, "") and curve.inverse(0.02, lowest=False) == (1.0, "")
    found = curve.equivalent(0.02, 0.02, 0.04)
    assert (found.ratio, found.low, found.high) == pytest.approx((0.75, 0.5, 1.5))


def test_real_data_that_gains_nothing_has_no_equivalent():
    curve = RealCurve.fit([0.5, 1.0], [-0.01, -0.02])
    assert curve.gains.tolist() == [0.0, 0.0, 0.0]
    assert curve.equivalent(0.02, 0.0, 0.04) is None


# -- K-fold with a small training base (issue 23: `real x8 +0.142 [-0.851, +1.135]`) ---------------------------


def small_base_runs(comparison: str, runs: int, seed: int) -> list[dict]:
    """Intervals of simulated corpora under 5-fold x 3 with 90% of training speakers in reserve (a base of 12)."""
    from bench.bench_intervals import Design, design_run, intervals

    rng = np.random.default_rng(seed)
    out = []
    for run in range(runs):
        cells, predictions = design_run(rng, Design(), comparison)
        for metric in ("f1", "brier"):
            found = intervals(
                cells,
                predictions,
                metric,
                resamples=500,
                seed=run,
                methods=("corrected t, n_train = base", "pooled speaker bootstrap"),
            )
            out += [
                {"metric": metric, "method": m, "low": s.ci_low, "high": s.ci_high, "p": s.p} for m, s in found.items()
            ]
    return out


@pytest.mark.slow
def test_small_base_kfold_bootstrap_covers_a_null_difference_within_what_the_metric_can_move():
    frame = pd.DataFrame(small_base_runs("null", 60, seed=3))
    frame["covered"] = (frame.low <= 0) & (frame.high >= 0)
    boot = frame[frame.method == "pooled speaker bootstrap"]
    corrected = frame[frame.method == "corrected t, n_train = base"]
    # Measured (bench/bench_intervals.py, 200 corpora): bootstrap coverage 0.97 (F1) / 0.95 (Brier);
    # the corrected t with the base's n_train 1.00, its F1 interval 0.81 wide on average.
    assert boot.covered.mean() >= 0.9
    assert ((boot.low >= -1) & (boot.high <= 1)).all()
    assert (corrected.high - corrected.low)[corrected.metric == "f1"].mean() > 0.6  # what the fix was for


@pytest.mark.slow
def test_small_base_kfold_bootstrap_sees_the_positive_control_the_corrected_t_missed():
    frame = pd.DataFrame(small_base_runs("real", 40, seed=4))
    power = frame.assign(detected=frame.p < 0.05).groupby(["metric", "method"]).detected.mean()
    # Measured (200 corpora): detected 0.28 (F1) / 0.67 (Brier) of the time, the corrected t 0.00 / 0.00.
    assert power["brier", "pooled speaker bootstrap"] >= 0.4
    assert power["brier", "corrected t, n_train = base"] <= 0.1 and power["f1", "corrected t, n_train = base"] <= 0.1
