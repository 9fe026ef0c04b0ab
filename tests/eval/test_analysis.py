"""The summary table: intervals by protocol that agree with p, n/a where none exists, used/wanted text, ≈ real,
verdicts that name the statistic that decided, and a minimum detectable effect beside every "not detected"."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from detect.metrics import binary_metrics
from eval.analysis import (
    HEADLINE_THRESHOLD_FREE,
    decision,
    format_table,
    interval_note,
    mde_lines,
    sentences,
    summary_table,
    verdict,
)
from tests.eval.frames import cell_predictions


def cell(
    condition: str,
    ratio: float,
    fold: int,
    f1: float,
    *,
    seed: int = 0,
    auroc: float = 0.8,
    n_extra: int = 0,
    n_wanted: int | None = 0,
) -> dict:
    row = dict(
        classifier="tfidf",
        condition=condition,
        ratio=ratio,
        seed=seed,
        fold=fold,
        f1=f1,
        auroc=auroc,
        n_train=20 + n_extra,
        n_test=10,
        n_extra=n_extra,
        n_wanted=n_wanted,
    )
    return row if n_wanted is not None else {k: v for k, v in row.items() if k != "n_wanted"}


def _scores(n_extra: int, n_wanted: int | None) -> pd.DataFrame:
    rows = []
    for fold, (base, aug) in enumerate([(0.70, 0.72), (0.74, 0.75), (0.68, 0.71)]):
        rows.append(cell("none", 0.0, fold, base, n_wanted=None if n_wanted is None else 0))
        rows.append(cell("dpo", 0.5, fold, aug, auroc=0.81, n_extra=n_extra, n_wanted=n_wanted))
    return pd.DataFrame(rows)


def test_a_cell_short_of_its_ratio_shows_used_of_wanted_and_says_why():
    table = summary_table(_scores(n_extra=24, n_wanted=52))
    dpo = table[table.condition == "dpo"].iloc[0]
    assert (dpo.synthetic, dpo.wanted) == (24, 52)
    assert format_table(table).synthetic.tolist() == ["—", "24/52"]
    said = " ".join(sentences(table))
    assert "24 synthetic transcripts per training set of the 52 the ratio asks for" in said


def test_a_full_cell_states_no_shortfall():
    table = summary_table(_scores(n_extra=52, n_wanted=52))
    assert format_table(table).synthetic.tolist() == ["—", "52/52"]
    assert "asks for" not in " ".join(sentences(table))


def test_scores_from_before_the_wanted_column_still_summarise():
    table = summary_table(_scores(n_extra=24, n_wanted=None))
    assert format_table(table).synthetic.tolist() == ["—", "24"]
    assert "asks for" not in " ".join(sentences(table))


def test_kfold_delta_is_the_corrected_t_interval_of_the_cell_differences():
    table = summary_table(_scores(n_extra=24, n_wanted=52))
    dpo = table[table.condition == "dpo"].iloc[0]
    d = np.array([0.02, 0.01, 0.03])
    se = math.sqrt((1 / 3 + 10 / 20) * d.var(ddof=1))  # n_test / real n_train of the `none` cells
    assert (dpo.delta_f1_low, dpo.delta_f1_high) == pytest.approx(stats.t.interval(0.95, 2, loc=d.mean(), scale=se))
    assert dpo.p_f1 == pytest.approx(2 * stats.t.sf(d.mean() / se, 2)) and dpo.interval == "corrected t"
    assert "corrected t-interval" in interval_note(table)


def test_one_cell_has_no_interval_and_reads_n_a():
    table = summary_table(_scores(n_extra=24, n_wanted=52).query("fold == 0"))
    dpo = table[table.condition == "dpo"].iloc[0]
    assert dpo.delta_f1 == pytest.approx(0.02) and math.isnan(dpo.delta_f1_low) and math.isnan(dpo.p_f1)
    shown = format_table(table).iloc[1]
    assert shown["ΔF1 [95% CI] p"] == "+0.020 n/a" and shown["F1 mean ± sd"] == "0.720 ± n/a"
    said = " ".join(sentences(table))
    assert "95% CI n/a, p = n/a" in said and "no interval to judge it by" in said and "clear" not in said


def random_kfold_scores(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    effects = {("classic", 0.5): 0.0, ("dpo", 0.5): rng.normal(0, 0.04), ("dpo", 1.0): rng.normal(0, 0.04)}
    for seed in range(rng.integers(1, 4)):
        for fold in range(rng.integers(2, 6)):
            base = rng.uniform(0.5, 0.8)
            rows.append(cell("none", 0.0, fold, base, seed=seed, auroc=base + 0.1))
            for (condition, ratio), effect in effects.items():
                f1 = base + effect + rng.normal(0, 0.03)
                rows.append(cell(condition, ratio, fold, f1, seed=seed, auroc=f1 + rng.normal(0.1, 0.03)))
    return pd.DataFrame(rows)


def random_fixed_split(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n, seeds = int(rng.integers(12, 40)), int(rng.integers(1, 4))
    y = (np.arange(n) % 2).astype(int)
    scores, predictions = [], []
    for condition, ratio, shift in (("none", 0.0, 0.0), ("dpo", 0.5, rng.normal(0, 0.6))):
        for seed in range(seeds):
            p = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + shift + rng.normal(0, 1.2, n))))
            predictions.append(cell_predictions(y, p, condition=condition, ratio=ratio, seed=seed))
            scores.append(cell(condition, ratio, 0, 0.0, seed=seed))  # metrics here are not what is bootstrapped
    return pd.DataFrame(scores), pd.concat(predictions, ignore_index=True)


@pytest.mark.parametrize("protocol", ["kfold", "adress"])
@pytest.mark.slow
def test_every_interval_excludes_zero_exactly_when_its_p_is_below_005(protocol):
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(60 if protocol == "kfold" else 25):
        if protocol == "kfold":
            table = summary_table(random_kfold_scores(rng))
        else:
            scores, predictions = random_fixed_split(rng)
            table = summary_table(scores, protocol="adress", predictions=predictions, power=False)
        for row in table[table.condition != "none"].itertuples():
            for low, high, p in (
                (row.delta_f1_low, row.delta_f1_high, row.p_f1),
                (row.delta_auroc_low, row.delta_auroc_high, row.p_auroc),
                (row.delta_brier_low, row.delta_brier_high, row.p_brier),
            ):
                if protocol == "kfold" and math.isnan(p):  # the random scores carry no Brier column
                    continue
                assert (low > 0 or high < 0) == (p < 0.05), (protocol, low, high, p)
                assert verdict(low, high).startswith("a clear") == (p < 0.05)
                seen.add(p < 0.05)
    assert seen == {True, False}, "the random inputs must hold both significant and null rows"


def test_fixed_split_uses_the_speaker_bootstrap_and_says_so(caplog):
    scores, predictions = random_fixed_split(np.random.default_rng(1))
    table = summary_table(scores, protocol="adress", predictions=predictions, power=False)
    assert set(table.interval) == {"", "speaker bootstrap"}
    assert "bootstrap over test speakers" in interval_note(table)
    with pytest.raises(ValueError, match="predictions"):
        summary_table(scores, protocol="adress")
    older = predictions[predictions.condition == "none"]  # a run from before predictions were kept
    with caplog.at_level(logging.WARNING):
        table = summary_table(scores, protocol="adress", predictions=older, power=False)
    assert format_table(table).iloc[1]["ΔF1 [95% CI] p"].endswith("n/a")
    assert "no out-of-fold predictions" in caplog.text


def real_control_scores(*, real: bool = True) -> pd.DataFrame:
    """`none` and, per fold, `real` adding 0.04 F1 per unit of ratio; `dpo` x1 adds 0.01, 0.03, 0.05."""
    rows = []
    for fold, base in enumerate([0.70, 0.72, 0.74]):
        rows.append(cell("none", 0.0, fold, base))
        for ratio in (0.5, 1.0, 2.0, 4.0) if real else ():
            rows.append(cell("real", ratio, fold, base + 0.04 * ratio + (fold - 1) * 0.002))
        rows.append(cell("dpo", 1.0, fold, base + 0.01 + 0.02 * fold))
        rows.append(cell("classic", 1.0, fold, base + 0.2))
    return pd.DataFrame(rows)


def test_each_synthetic_gain_reads_as_an_equivalent_amount_of_real_data():
    table = summary_table(real_control_scores())
    dpo = table[table.condition == "dpo"].iloc[0]
    # The real curve is 0.04 x ratio, so ΔF1 0.03 [low, high] is ratio 0.75 [low / 0.04, high / 0.04].
    assert dpo.delta_f1 == pytest.approx(0.03)
    assert dpo.real_equivalent == pytest.approx(0.75)
    assert dpo.delta_f1_low < 0 and dpo.real_equivalent_low == 0.0  # below the curve: clipped, flagged
    assert dpo.real_equivalent_high == pytest.approx(dpo.delta_f1_high / 0.04)
    assert dpo.real_equivalent_text == f"0.75 [<0, {dpo.delta_f1_high / 0.04:.2g}]"
    classic = table[table.condition == "classic"].iloc[0]
    assert classic.real_equivalent_text == ">4 [>4, >4]"  # +0.2 is beyond what 4x real data gave
    shown = format_table(table)
    assert shown["≈ real"].tolist() == ["—", "—", "—", "—", "—", dpo.real_equivalent_text, classic.real_equivalent_text]
    said = " ".join(sentences(table))
    assert f"worth {dpo.real_equivalent_text} extra real transcripts per training transcript" in said
    assert "≈ real" in interval_note(table)


def test_without_the_real_condition_there_is_no_equivalent_column():
    table = summary_table(real_control_scores(real=False))
    assert "real_equivalent" not in table and "≈ real" not in format_table(table)
    assert "worth" not in " ".join(sentences(table)) and "≈ real" not in interval_note(table)


# -- threshold-free statistics, K-fold over pooled predictions, verdicts and the MDE ----------------------------


def kfold_run(
    rng: np.random.Generator, effects: dict[tuple[str, float], float], *, n: int = 60, seeds: int = 2, folds: int = 5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and out-of-fold predictions of repeated K-fold: `none` and each condition moved by its effect
    (logits of AD up, HC down), with noise of its own."""
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    latent = 0.5 * (2 * y - 1) + rng.normal(0, 1, n)  # F1 about 0.7: room to move both ways
    scores, predictions = [], []
    for (condition, ratio), effect in {("none", 0.0): 0.0, **effects}.items():
        for seed in range(seeds):
            fold_of = np.random.default_rng(seed).permutation(np.arange(n) % folds)  # the same folds in every arm
            noise = 0.0 if condition == "none" else rng.normal(0, 0.3, n)
            p = 1 / (1 + np.exp(-(latent + effect * (y - 0.5) + noise)))
            frame = cell_predictions(
                y, p, condition=condition, ratio=ratio, seed=seed, fold=fold_of, speaker_ids=[f"s{i}" for i in range(n)]
            )
            predictions.append(frame)
            for _, cell in frame.groupby("fold"):
                m = binary_metrics(cell.y_true, cell.p_ad)
                scores.append(
                    {
                        **cell.iloc[0][["classifier", "condition", "ratio", "seed", "fold"]].to_dict(),
                        **m,
                        "n_train": 3 * n // folds,
                        "n_test": len(cell),
                        "n_extra": 0,
                        "n_wanted": 0,
                    }
                )
    return pd.DataFrame(scores), pd.concat(predictions, ignore_index=True)


def test_kfold_with_predictions_bootstraps_the_pooled_predictions_within_what_the_metrics_can_move():
    scores, predictions = kfold_run(np.random.default_rng(3), {("dpo", 1.0): 0.0, ("real", 1.0): 4.0})
    table = summary_table(scores, predictions=predictions, power=False)
    paired = table[table.condition != "none"]
    assert set(paired.interval) == {"pooled speaker bootstrap"}
    for m in ("f1", "auroc", "brier"):
        assert ((paired[f"delta_{m}_low"] >= -1) & (paired[f"delta_{m}_high"] <= 1)).all()
    real = paired[paired.condition == "real"].iloc[0]
    assert real.delta_f1_low > 0 and real.delta_brier_high < 0  # a gain lowers the Brier score
    assert "pooled per repeat" in interval_note(table)


def test_kfold_scores_without_predictions_fall_back_to_a_clipped_corrected_t(caplog):
    rows = []
    for fold, (base, aug) in enumerate([(0.30, 0.95), (0.90, 0.20), (0.40, 0.99)]):
        rows.append(cell("none", 0.0, fold, base) | {"n_train": 10, "n_test": 48})
        rows.append(cell("dpo", 0.5, fold, aug) | {"n_train": 10, "n_test": 48})
    with caplog.at_level(logging.WARNING):
        dpo = summary_table(pd.DataFrame(rows)).query("condition == 'dpo'").iloc[0]
    assert dpo.interval == "corrected t" and (dpo.delta_f1_low, dpo.delta_f1_high) == (-1.0, 1.0)
    assert "corrected t over cells" in caplog.text


def row_of(**values) -> pd.Series:
    base = {
        "delta_f1": 0.05,
        "delta_f1_low": -0.02,
        "delta_f1_high": 0.12,
        "delta_brier": -0.01,
        "delta_brier_low": -0.03,
        "delta_brier_high": 0.01,
        "mde_f1": 0.21,
        "mde_brier": 0.018,
        "mde_note": "",
    }
    return pd.Series(base | values)


def test_a_verdict_names_the_statistic_that_decided():
    assert HEADLINE_THRESHOLD_FREE == "brier"
    assert decision(row_of(delta_f1_low=0.01)) == "detected in F1, a clear gain"
    by_brier = decision(row_of(delta_brier_high=-0.001))
    assert by_brier.startswith("detected by the Brier score (P(AD) clearly better), not in F1")
    assert "clearly worse" in decision(row_of(delta_brier_low=0.002, delta_brier_high=0.03))
    missed = decision(row_of())
    assert missed.startswith("not detected in F1 or the Brier score: a change of ΔF1 0.210 or ΔBrier 0.018")
    assert "could not have detected a smaller one" in missed
    assert "minimum detectable effect n/a (constant" in decision(
        row_of(mde_f1=math.nan, mde_brier=math.nan, mde_note="constant P(AD)")
    )


def test_no_not_detected_verdict_appears_without_its_minimum_detectable_effect():
    scores, predictions = kfold_run(np.random.default_rng(5), {("dpo", 1.0): 0.0, ("real", 1.0): 3.0})
    table = summary_table(scores, predictions=predictions)
    assert table.mde_f1.gt(0).all() and table.mde_brier.gt(0).all()
    said = sentences(table)
    assert "This design detects a ΔF1 of" in said[0]
    for sentence in said:
        if "not detected" in sentence:
            assert "minimum detectable effect" in sentence and f"ΔF1 {table.mde_f1.iloc[0]:.3f}" in sentence
    lines = mde_lines(table)
    assert lines[0].startswith("Minimum detectable effect (80% power at α 0.05")
    assert lines[1].startswith(f"  tfidf: ΔF1 {table.mde_f1.iloc[0]:.3f}, ΔBrier {table.mde_brier.iloc[0]:.3f}")
    shown = format_table(table)
    assert list(shown.columns[-3:]) == ["ΔF1 [95% CI] p", "ΔBrier [95% CI] p", "≈ real"]
    assert " p " in shown["ΔBrier [95% CI] p"].iloc[1]
