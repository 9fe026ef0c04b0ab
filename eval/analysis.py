"""From per-cell scores to the table users read: condition x ratio x classifier against `none`.

Input: one row per (classifier, condition, ratio, seed, fold) with metric columns and the
fold sizes (n_train, n_test, n_extra). The `none` condition has no ratio (stored as 0). Every
other row is paired with the `none` row of the same (classifier, seed, fold); with the fixed
ADReSS split, also with its out-of-fold predictions (one row per test transcript and cell).
The interval and the p-value of a row come from one distribution (see :mod:`eval.stats`), so
"a clear gain/loss" (the interval excludes 0) and p < 0.05 always agree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import pandas as pd

from detect.metrics import MetricSummary, summarize
from eval.config import FLIPPED, REAL  # the controls: see eval.config.CONTROLS
from eval.stats import Protocol, RealCurve, delta_over_cells, delta_over_speakers

logger = logging.getLogger(__name__)

CONTROL_ROLE = {REAL: " (the positive control: more real data)",
                FLIPPED: " (the negative control: real data with the wrong label; it must hurt)"}
INTERVAL_NOTE = {
    "corrected t": "95% Nadeau-Bengio corrected t-interval over folds x seeds, and its t-test",
    "speaker bootstrap": "95% paired bootstrap over test speakers and seeds, and its p-value",
}


@dataclass(frozen=True)
class SummaryRow:
    classifier: str
    condition: str
    ratio: float
    f1_mean: float
    f1_sd: float
    delta_f1: float
    delta_f1_low: float
    delta_f1_high: float
    p_f1: float
    auroc_mean: float
    delta_auroc: float
    delta_auroc_low: float
    delta_auroc_high: float
    p_auroc: float
    cells: int
    synthetic: float  # extra transcripts (synthetic, or real for `real`) that reached training, mean per cell
    wanted: float  # ratio x real per class, summed over classes, mean per cell (what the ratio asks for)
    interval: str  # how delta intervals and p were computed: "corrected t" or "speaker bootstrap"


def summary_table(scores: pd.DataFrame, *, protocol: Protocol = "kfold", predictions: pd.DataFrame | None = None,
                  confidence: float = 0.95) -> pd.DataFrame:
    """Mean F1/AUROC per condition and ratio, with paired deltas against `none`.

    ``protocol="kfold"``: corrected t over (seed, fold) cells, n_test/n_train from the
    scores. ``protocol="adress"``: paired bootstrap over test speakers and seeds of
    ``predictions`` (columns classifier, condition, ratio, seed, id, speaker_id, y_true, p_ad);
    a row whose predictions are missing (scores from before they were kept) gets NaN
    intervals ("n/a") and a warning. With a `real` condition the table also says what each
    synthetic ΔF1 is worth in real data (:func:`add_real_equivalents`).
    """
    if protocol == "adress" and predictions is None:
        raise ValueError("the fixed split's intervals bootstrap test speakers: pass the predictions")
    rows: list[SummaryRow] = []
    for classifier, per_classifier in scores.groupby("classifier", sort=False):
        base = per_classifier[per_classifier.condition == "none"]
        for (condition, ratio), group in per_classifier.groupby(["condition", "ratio"], sort=False):
            f1, auroc = summarize(group.f1), summarize(group.auroc)
            synthetic = float(group.n_extra.mean()) if "n_extra" in group else math.nan
            wanted = float(group.n_wanted.mean()) if "n_wanted" in group else math.nan
            if condition == "none":
                nan = math.nan
                rows.append(SummaryRow(classifier, condition, 0.0, f1.mean, f1.sd, 0.0, nan, nan, nan,
                                       auroc.mean, 0.0, nan, nan, nan, f1.n, synthetic, 0.0, ""))
                continue
            if protocol == "adress":
                d_f1, d_auc = (_delta_over_speakers(predictions, (classifier, condition, ratio), m, confidence)
                               for m in ("f1", "auroc"))
            else:
                d_f1, d_auc = (delta_over_cells(group, base, m, confidence=confidence) for m in ("f1", "auroc"))
            rows.append(SummaryRow(
                classifier, condition, float(ratio), f1.mean, f1.sd, d_f1.mean, d_f1.ci_low, d_f1.ci_high, d_f1.p,
                auroc.mean, d_auc.mean, d_auc.ci_low, d_auc.ci_high, d_auc.p, d_f1.n, synthetic, wanted,
                d_f1.method,
            ))
    table = pd.DataFrame([asdict(r) for r in rows])
    return add_real_equivalents(table) if REAL in set(table.condition) else table


def _delta_over_speakers(predictions: pd.DataFrame, row: tuple[str, str, float], metric: str,
                         confidence: float) -> MetricSummary:
    classifier, condition, ratio = row
    ours = predictions[(predictions.classifier == classifier) & (predictions.condition == condition)
                       & (predictions.ratio.astype(float) == float(ratio))]
    base = predictions[(predictions.classifier == classifier) & (predictions.condition == "none")]
    if ours.empty or base.empty:
        logger.warning("%s %s x%g: no out-of-fold predictions kept (scores from an older run?); its interval "
                       "is n/a: delete scores.csv to score it again", classifier, condition, ratio)
        nan = math.nan
        return MetricSummary(metric, nan, nan, nan, nan, 0, nan, "speaker bootstrap")
    return delta_over_speakers(ours, base, metric, confidence=confidence)


def add_real_equivalents(table: pd.DataFrame) -> pd.DataFrame:
    """Each synthetic row's ΔF1 (and interval) as extra real transcripts per training transcript.

    Read off the same classifier's `real` rows (ΔF1 against ratio, see :class:`RealCurve`).
    New columns: ``real_equivalent`` (and ``_low``/``_high``, clipped to the curve's ends) and
    ``real_equivalent_text``, e.g. "0.3 [<0, 0.6]"; NaN / "—" for `none` and the control rows,
    "n/a" where real data gained nothing or has no ΔF1 (no curve to read).
    """
    columns: dict[str, list] = {"real_equivalent": [], "real_equivalent_low": [], "real_equivalent_high": [],
                                "real_equivalent_text": []}
    real = table[(table.condition == REAL) & table.delta_f1.notna()]
    curves = {classifier: RealCurve.fit(rows.ratio, rows.delta_f1)
              for classifier, rows in real.groupby("classifier", sort=False)}
    for row in table.itertuples():
        curve = curves.get(row.classifier)
        compared = row.condition not in ("none", REAL, FLIPPED)
        found = curve.equivalent(row.delta_f1, row.delta_f1_low, row.delta_f1_high) if compared and curve else None
        columns["real_equivalent"].append(found.ratio if found else math.nan)
        columns["real_equivalent_low"].append(found.low if found else math.nan)
        columns["real_equivalent_high"].append(found.high if found else math.nan)
        columns["real_equivalent_text"].append(str(found) if found else "n/a" if compared else "—")
    return table.assign(**columns)


def _number(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, spec)


def _interval(low: float, high: float) -> str:
    """"[-0.010, +0.030]", or "n/a" where no interval can be estimated (one cell, no predictions)."""
    return "n/a" if math.isnan(low) or math.isnan(high) else f"[{low:+.3f}, {high:+.3f}]"


def _p(p: float, *, equals: bool = False) -> str:
    """"0.042", "<0.001" or "n/a"; with ``equals``, a clause: "= 0.042", "< 0.001", "= n/a"."""
    if not math.isnan(p) and p < 0.001:
        return "< 0.001" if equals else "<0.001"
    shown = "n/a" if math.isnan(p) else f"{p:.3g}"
    return f"= {shown}" if equals else shown


def verdict(low: float, high: float) -> str:
    """What a ΔF1 interval says; it excludes 0 exactly when p < 0.05 (same distribution)."""
    if math.isnan(low) or math.isnan(high):
        return "no interval to judge it by (n/a)"
    return ("a clear gain" if low > 0 else "a clear loss" if high < 0
            else "no clear change (the interval includes 0)")


def sentences(table: pd.DataFrame) -> list[str]:
    """The findings in words, one sentence per classifier x condition (its best ratio)."""
    out: list[str] = []
    for classifier, group in table.groupby("classifier", sort=False):
        base = group[group.condition == "none"]
        if base.empty:
            continue
        out.append(f"With the {classifier} classifier and no augmentation, F1 is "
                   f"{base.f1_mean.iloc[0]:.3f} (sd {_number(base.f1_sd.iloc[0], '.3f')} over "
                   f"{int(base.cells.iloc[0])} cell{'s' * (int(base.cells.iloc[0]) != 1)}).")
        for condition, rows in group[group.condition != "none"].groupby("condition", sort=False):
            # The negative control is judged where it should hurt most, everything else at its best.
            best = (rows.loc[rows.ratio.idxmax()] if condition == FLIPPED
                    else rows.loc[rows.delta_f1.fillna(-math.inf).idxmax()])
            control = condition in (REAL, FLIPPED)
            kind = "real" if control else "synthetic"
            used = "" if math.isnan(best.synthetic) else f", {best.synthetic:.0f} {kind} transcripts per training set"
            if best.synthetic < 0.9 * best.wanted:  # NaN (older scores) compares False
                why = "the reserve holds no more" if control else "the rest failed the filters"
                used += f" of the {best.wanted:.0f} the ratio asks for: {why}"
            worth = best.get("real_equivalent_text", "—")
            worth = (f"; worth {worth} extra real transcripts per training transcript"
                     if isinstance(worth, str) and worth != "—" else "")
            out.append(
                f"{condition}{CONTROL_ROLE.get(condition, '')} moves F1 by {_number(best.delta_f1, '+.3f')} at "
                f"{'ratio' if condition == FLIPPED else 'its best ratio'} {best.ratio:g} "
                f"(95% CI {_interval(best.delta_f1_low, best.delta_f1_high)}, p {_p(best.p_f1, equals=True)}, "
                f"{best.interval}{used}{worth}): {verdict(best.delta_f1_low, best.delta_f1_high)}."
            )
    return out


def interval_note(table: pd.DataFrame) -> str:
    """One line under a printed table saying how its intervals and p-values were computed."""
    methods = [m for m in dict.fromkeys(table.interval) if m]
    how = "; ".join(INTERVAL_NOTE.get(m, m) for m in methods) or "no paired rows"
    note = f"ΔF1: mean paired difference against none with a {how} (the interval excludes 0 exactly when p < 0.05)."
    if "real_equivalent_text" in table:
        note += (" ≈ real: the ΔF1 read off the `real` learning curve as extra real transcripts per training "
                 "transcript, [interval]; < / >: beyond the curve's ends.")
    return note


def _used(condition: str, synthetic: float, wanted: float) -> str:
    """"24/52": extra transcripts used of those the ratio asks for (per training set)."""
    if condition == "none" or math.isnan(synthetic):
        return "—"
    return f"{synthetic:.0f}" if math.isnan(wanted) else f"{synthetic:.0f}/{wanted:.0f}"


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for printing: F1 mean ± sd, ΔF1 [95% CI], p, extra text used, and ≈ real data.

    "synthetic" is what passed the filters and reached training per cell, of what the ratio
    asks for: with weak generators it falls short of ratio x real, and a reader must see that
    next to ΔF1 (two ratios that got the same records are the same experiment). An interval
    or p that cannot be estimated (one cell) reads "n/a". The "≈ real" column is there only
    when the table has the `real` condition.
    """
    def delta(row) -> str:
        if row.condition == "none":
            return "—"
        return f"{_number(row.delta_f1, '+.3f')} {_interval(row.delta_f1_low, row.delta_f1_high)}"

    shown = pd.DataFrame({
        "classifier": table.classifier,
        "condition": table.condition,
        "ratio": [("—" if c == "none" else f"{r:g}") for c, r in zip(table.condition, table.ratio)],
        "synthetic": [_used(c, n, w) for c, n, w in zip(table.condition, table.synthetic, table.wanted)],
        "F1 mean ± sd": [f"{m:.3f} ± {_number(s, '.3f')}" for m, s in zip(table.f1_mean, table.f1_sd)],
        "ΔF1 [95% CI]": [delta(r) for r in table.itertuples()],
        "p": [("—" if c == "none" else _p(p)) for c, p in zip(table.condition, table.p_f1)],
        "AUROC": [f"{a:.3f}" for a in table.auroc_mean],
    })
    if "real_equivalent_text" in table:
        shown["≈ real"] = table.real_equivalent_text.fillna("—").to_numpy()
    return shown
