"""From per-cell scores to the table users read: condition x ratio x classifier against `none`.

Input: one row per (classifier, condition, ratio, seed, fold) with metric columns. The
`none` condition has no ratio (stored as 0). Every other row is paired with the `none` row of
the same (classifier, seed, fold).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from eval.stats import paired_comparison, summarize

CELL = ["seed", "fold"]


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
    synthetic: float  # synthetic transcripts that passed the filters and reached training, mean per cell
    wanted: float  # ratio x real per class, summed over classes, mean per cell (what the ratio asks for)


def summary_table(scores: pd.DataFrame, *, test_fraction: float) -> pd.DataFrame:
    """Mean F1/AUROC per condition and ratio, with paired deltas against `none`.

    ``test_fraction`` is n_test / n_train of a fold, for the Nadeau-Bengio correction
    (0 for a fixed split, where seeds only vary the classifier).
    """
    rows: list[SummaryRow] = []
    for classifier, per_classifier in scores.groupby("classifier", sort=False):
        base = per_classifier[per_classifier.condition == "none"].set_index(CELL).sort_index()
        for (condition, ratio), group in per_classifier.groupby(["condition", "ratio"], sort=False):
            group = group.set_index(CELL).sort_index()
            f1, auroc = summarize(group.f1), summarize(group.auroc)
            synthetic = float(group.n_extra.mean()) if "n_extra" in group else float("nan")
            wanted = float(group.n_wanted.mean()) if "n_wanted" in group else float("nan")
            if condition == "none":
                nan = float("nan")
                rows.append(SummaryRow(classifier, condition, 0.0, f1.mean, f1.sd, 0.0, nan, nan, nan,
                                       auroc.mean, 0.0, nan, nan, nan, f1.n, synthetic, 0.0))
                continue
            common = group.index.intersection(base.index)
            d_f1 = paired_comparison(group.loc[common, "f1"], base.loc[common, "f1"], test_fraction=test_fraction)
            d_auc = paired_comparison(group.loc[common, "auroc"], base.loc[common, "auroc"], test_fraction=test_fraction)
            rows.append(SummaryRow(
                classifier, condition, float(ratio), f1.mean, f1.sd, d_f1.delta, d_f1.low, d_f1.high, d_f1.p,
                auroc.mean, d_auc.delta, d_auc.low, d_auc.high, d_auc.p, d_f1.n, synthetic, wanted,
            ))
    return pd.DataFrame([asdict(r) for r in rows])


def sentences(table: pd.DataFrame) -> list[str]:
    """The findings in words, one sentence per classifier x condition (its best ratio)."""
    out: list[str] = []
    for classifier, group in table.groupby("classifier", sort=False):
        base = group[group.condition == "none"]
        if base.empty:
            continue
        out.append(f"With the {classifier} classifier and no augmentation, F1 is "
                   f"{base.f1_mean.iloc[0]:.3f} (sd {base.f1_sd.iloc[0]:.3f} over {int(base.cells.iloc[0])} cells).")
        for condition, rows in group[group.condition != "none"].groupby("condition", sort=False):
            best = rows.loc[rows.delta_f1.idxmax()]
            ci = f"95% CI [{best.delta_f1_low:+.3f}, {best.delta_f1_high:+.3f}]"
            verdict = (
                "a clear gain" if best.delta_f1_low > 0
                else "a clear loss" if best.delta_f1_high < 0
                else "no clear change (the interval includes 0)"
            )
            used = "" if best.synthetic != best.synthetic else f", {best.synthetic:.0f} synthetic transcripts per training set"
            if best.synthetic < 0.9 * best.wanted:  # NaN (older scores) compares False
                used += f" of the {best.wanted:.0f} the ratio asks for: the rest failed the filters"
            out.append(
                f"{condition} augmentation moves F1 by {best.delta_f1:+.3f} at its best ratio {best.ratio:g} "
                f"({ci}, corrected p = {best.p_f1:.3g}{used}): {verdict}."
            )
    return out


def _used(condition: str, synthetic: float, wanted: float) -> str:
    """"24/52": synthetic transcripts used of those the ratio asks for (per training set)."""
    if condition == "none" or synthetic != synthetic:
        return "—"
    return f"{synthetic:.0f}" if wanted != wanted else f"{synthetic:.0f}/{wanted:.0f}"


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for printing: F1 mean ± sd, ΔF1 [95% CI], p, and how much synthetic text was used.

    "synthetic" is what passed the filters and reached training per cell, of what the ratio
    asks for: with weak generators it falls short of ratio x real, and a reader must see that
    next to ΔF1 (two ratios that got the same records are the same experiment).
    """
    def delta(row) -> str:
        if row.condition == "none":
            return "—"
        return f"{row.delta_f1:+.3f} [{row.delta_f1_low:+.3f}, {row.delta_f1_high:+.3f}]"

    return pd.DataFrame({
        "classifier": table.classifier,
        "condition": table.condition,
        "ratio": [("—" if c == "none" else f"{r:g}") for c, r in zip(table.condition, table.ratio)],
        "synthetic": [_used(c, n, w) for c, n, w in zip(table.condition, table.synthetic, table.wanted)],
        "F1 mean ± sd": [f"{m:.3f} ± {s:.3f}" for m, s in zip(table.f1_mean, table.f1_sd)],
        "ΔF1 [95% CI]": [delta(r) for r in table.itertuples()],
        "p": [("—" if c == "none" else f"{p:.3g}") for c, p in zip(table.condition, table.p_f1)],
        "AUROC": [f"{a:.3f}" for a in table.auroc_mean],
    })
