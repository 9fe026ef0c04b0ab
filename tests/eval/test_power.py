"""The minimum detectable effect: checked against the real paired test on a population with known effects.

The power calculation (eval.power) simulates from one run's `none` predictions. Here that run
is drawn from a known population of speakers; fresh runs are then drawn from the same
population, the computed effect is planted in them under the same noise, and the project's
own paired bootstrap (detect.metrics.speaker_bootstrap) tests each: at the computed size it
must detect the effect about 80% of the time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from detect.metrics import TestSet, speaker_bootstrap, weighted_metrics
from eval.power import POWER, STATISTICS, batch_metric, design_power, measured_noise, minimum_detectable_effect

SPEAKERS, SEEDS, SHARED_NOISE = 48, 3, 0.8


def run_of(
    rng: np.random.Generator, *, effect: float = 0.0, seeds: int = SEEDS, folds: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run: `none` and an augmented arm, its logits moved by ``effect`` x (y - 1/2) plus shared
    noise of sd 0.8. ``folds=1``: the fixed split, a deterministic classifier (every seed scores
    alike); more: repeated K-fold, each seed its own folds and its own classifiers (seed noise)."""
    y = np.r_[np.ones(SPEAKERS // 2), np.zeros(SPEAKERS // 2)].astype(int)
    logit = 0.6 * (2 * y - 1) + rng.normal(0, 1, SPEAKERS)  # AUROC about 0.8: room to move either way
    shared = SHARED_NOISE * rng.normal(0, 1, SPEAKERS)
    ids = [f"t{i}" for i in range(SPEAKERS)]
    base, arm = [], []
    for seed in range(seeds):
        fold = np.random.default_rng(seed).permutation(np.arange(SPEAKERS) % folds)
        retrained = logit + (0.0 if folds == 1 else rng.normal(0, 0.3, SPEAKERS))
        moved = retrained + effect * (y - 0.5) + shared + (0.0 if folds == 1 else rng.normal(0, 0.3, SPEAKERS))
        for frames, values in ((base, retrained), (arm, moved)):
            frames.append(
                pd.DataFrame(
                    {
                        "seed": seed,
                        "fold": fold,
                        "id": ids,
                        "speaker_id": ids,
                        "y_true": y,
                        "p_ad": 1 / (1 + np.exp(-values)),
                    }
                )
            )
    return pd.concat(base, ignore_index=True), pd.concat(arm, ignore_index=True)


@pytest.fixture(scope="module")
def computed():
    """The MDE of one observed fixed-split run (its noise measured on its own null arm)."""
    base, arm = run_of(np.random.default_rng(2))
    return minimum_detectable_effect("simulated", base, [arm], seed=1)


@pytest.mark.slow
def test_the_noise_model_is_measured_from_the_other_conditions(computed):
    shared, seedwise = computed.noise
    assert shared == pytest.approx(SHARED_NOISE, abs=0.2)
    assert seedwise == pytest.approx(0.0, abs=1e-9)  # deterministic: no seed noise
    assert computed.measured_on == 1


@pytest.mark.parametrize("statistic,folds", [*((s, 1) for s in STATISTICS), ("f1", 5), ("brier", 5)])
@pytest.mark.slow
def test_an_effect_planted_at_the_computed_size_is_detected_about_80_percent_of_the_time(statistic, folds):
    """Over several observed runs: the MDE of one run is an estimate (of its noise above all), so one
    run's computed size may be detected anywhere from about 60% to 90% of the time; on average, 80%."""
    detected, moved, computed = [], [], []
    for observed in range(4):
        found = minimum_detectable_effect(
            "simulated", *_split(run_of(np.random.default_rng(100 + observed), folds=folds)), statistics=(statistic,)
        )
        computed.append(found.mde[statistic])
        rng = np.random.default_rng(200 + observed)
        for trial in range(40):
            base, arm = run_of(rng, effect=found.separation[statistic], folds=folds)
            s = speaker_bootstrap(arm, statistic, baseline=base, resamples=500, seed=trial)
            detected.append(s.p < 0.05)
            moved.append(abs(s.mean))
    # Measured: fixed split 0.77 (F1), 0.85 (Brier), 0.79 (AUROC); 5-fold x 3: 0.80 (F1), 0.89 (Brier).
    assert 0.70 <= np.mean(detected) <= 0.90, (statistic, np.mean(detected))
    assert np.mean(moved) == pytest.approx(np.mean(computed), rel=0.25)  # the MDE is the Δ such runs show


def _split(run: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    base, arm = run
    return base, [arm]


def test_half_the_computed_size_is_mostly_missed(computed):
    rng = np.random.default_rng(8)
    detected = []
    for trial in range(80):
        base, arm = run_of(rng, effect=computed.separation["f1"] / 2)
        detected.append(speaker_bootstrap(arm, "f1", baseline=base, resamples=500, seed=trial).p < 0.05)
    assert np.mean(detected) < POWER - 0.2


def test_more_test_speakers_see_smaller_effects():
    rng = np.random.default_rng(3)
    base, arm = run_of(rng)
    small = minimum_detectable_effect("x", base, [arm], statistics=("f1", "brier"))
    doubled = [pd.concat([f, f.assign(id=f.id + "b", speaker_id=f.speaker_id + "b")]) for f in (base, arm)]
    large = minimum_detectable_effect("x", doubled[0], [doubled[1]], statistics=("f1", "brier"))
    assert all(large.mde[s] < small.mde[s] for s in ("f1", "brier"))


def test_constant_predictions_have_no_minimum_detectable_effect():
    base, _ = run_of(np.random.default_rng(0))
    found = minimum_detectable_effect("majority", base.assign(p_ad=0.5))
    assert all(math.isnan(v) for v in found.mde.values()) and "constant" in found.note


def test_without_other_conditions_the_default_noise_is_used_and_said():
    base, _ = run_of(np.random.default_rng(0))
    found = minimum_detectable_effect("alone", base, statistics=("f1", "brier"))
    assert found.measured_on == 0 and found.noise[0] > 0 and all(v > 0 for v in found.mde.values())


def test_seed_noise_is_told_apart_from_shared_noise():
    rng = np.random.default_rng(5)
    base, arm = run_of(rng)
    arm = arm.assign(p_ad=1 / (1 + np.exp(-(np.log(arm.p_ad / (1 - arm.p_ad)) + rng.normal(0, 0.5, len(arm))))))
    shared, seedwise, rows = measured_noise(TestSet.of(base), [TestSet.of(arm)])
    assert rows == 1 and shared == pytest.approx(SHARED_NOISE, abs=0.25) and seedwise == pytest.approx(0.5, abs=0.1)


def test_the_simulation_scores_as_the_bootstrap_does():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 30)
    p = np.round(rng.random((5, 30)), 1)  # ties, and scores at the threshold
    w = rng.integers(0, 3, (5, 7, 30)).astype(np.float32)
    for statistic in STATISTICS:
        expected = np.stack([weighted_metrics(y, p[r], w[r], metrics=[statistic])[statistic] for r in range(5)])
        assert batch_metric(statistic, y, p, w) == pytest.approx(expected)


def test_design_power_gives_one_row_per_classifier_and_leaves_the_negative_control_out():
    base, arm = run_of(np.random.default_rng(9))
    _, wild = run_of(np.random.default_rng(10))
    wild = wild.assign(p_ad=1 - wild.p_ad)  # flipped: a far bigger move, which must not set the noise
    keys = {"classifier": "tfidf", "ratio": 1.0}
    predictions = pd.concat(
        [
            base.assign(classifier="tfidf", condition="none", ratio=0.0),
            arm.assign(condition="real", **keys),
            wild.assign(condition="flipped", **keys),
        ]
    )
    found = design_power(predictions, control="flipped", statistics=("f1", "brier"))
    assert found.classifier.tolist() == ["tfidf"] and found.noise_rows.iloc[0] == 1
    assert found.noise_shared.iloc[0] == pytest.approx(SHARED_NOISE, abs=0.2)
    assert {"mde_f1", "mde_brier", "separation_f1", "noise_seed", "mde_note"} <= set(found.columns)
