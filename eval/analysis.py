"""From per-cell scores to the table users read: condition x ratio x classifier against `none`.

Input: one row per (classifier, condition, ratio, seed, fold) with metric columns and the
fold sizes (n_train, n_test, n_extra), and the out-of-fold predictions of every cell (one row
per test transcript and cell). The `none` condition has no ratio (stored as 0). Every other
row is paired with `none` on the same test transcripts, seeds and folds. The interval and the
p-value of a row come from one distribution (see :mod:`eval.stats`), so "a clear gain/loss"
(the interval excludes 0) and p < 0.05 always agree.

Three paired statistics: ΔF1, the headline users ask for, and two that need no decision
threshold, ΔBrier and ΔAUROC. :data:`HEADLINE_THRESHOLD_FREE` is the one the console table and
the verdicts lead with, chosen by measured power (docs/statistics.md; bench-results/README.md, B4). Each classifier's
minimum detectable effects (:mod:`eval.power`) say what the run could have seen.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import pandas as pd

from detect.metrics import LOWER_IS_BETTER, MetricSummary, summarize
from eval.config import FLIPPED, REAL  # the controls: see eval.config.CONTROLS
from eval.plan import WHOLE, size_order
from eval.power import ALPHA, POWER, STATISTICS, design_power
from eval.stats import Protocol, RealCurve, delta_over_cells, delta_over_speakers

logger = logging.getLogger(__name__)

PAIRED: tuple[str, ...] = ("f1", "auroc", "brier", "log_loss")  # each gets delta_<m>, _low, _high, p_<m>
HEADLINE_THRESHOLD_FREE = "brier"  # chosen by measured power: bench-results/README.md, B4
THRESHOLD_FREE: tuple[str, ...] = ("brier", "auroc")  # the headline first
NAMES = {"f1": "F1", "auroc": "AUROC", "brier": "Brier", "log_loss": "log-loss"}
CONTROL_ROLE = {
    REAL: " (the positive control: more real data)",
    FLIPPED: " (the negative control: real data with the wrong label; it must hurt)",
}
INTERVAL_NOTE = {
    "corrected t": "95% Nadeau-Bengio corrected t-interval over folds x seeds, and its t-test",
    "speaker bootstrap": "95% paired bootstrap over test speakers and seeds, and its p-value",
    "pooled speaker bootstrap": "95% paired bootstrap of the out-of-fold predictions pooled per repeat (every "
    "speaker tested once per repeat) over speakers and each repeat's folds, and its "
    "p-value",
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
    brier_mean: float
    delta_brier: float  # lower is better: a gain is negative
    delta_brier_low: float
    delta_brier_high: float
    p_brier: float
    log_loss_mean: float
    delta_log_loss: float  # lower is better
    delta_log_loss_low: float
    delta_log_loss_high: float
    p_log_loss: float
    cells: int
    synthetic: float  # extra transcripts (synthetic, or real for `real`) that reached training, mean per cell
    wanted: float  # ratio x real per class, summed over classes, mean per cell (what the ratio asks for)
    interval: str  # how delta intervals and p were computed: "corrected t" or "(pooled) speaker bootstrap"


def summary_table(
    scores: pd.DataFrame,
    *,
    protocol: Protocol = "kfold",
    predictions: pd.DataFrame | None = None,
    confidence: float = 0.95,
    power: bool = True,
) -> pd.DataFrame:
    """Mean F1/AUROC/Brier per condition and ratio, with paired deltas against `none`, and each
    classifier's minimum detectable effects.

    With ``predictions`` (columns classifier, condition, ratio, seed, fold, id, speaker_id,
    y_true, p_ad), both protocols take the paired bootstrap over speakers
    (:func:`eval.stats.delta_over_speakers`): the fixed split over its test speakers and seeds,
    K-fold over the out-of-fold predictions pooled per repeat (every speaker tested once per
    repeat), resampling speakers and each repeat's folds. A row whose predictions are missing
    (scores from before they were kept) gets, with a
    warning, NaN intervals ("n/a") on the fixed split and under K-fold the corrected t over
    cells (:func:`eval.stats.delta_over_cells`), over-wide with a small training base.
    ``power`` adds each classifier's ``mde_f1`` and ``mde_brier`` (and what they rest on, see
    :func:`eval.power.design_power`); it needs the predictions. With a `real`
    condition the table also says what each synthetic ΔF1 is worth in real data
    (:func:`add_real_equivalents`). Scores of several training sizes (the low-resource protocol,
    a ``size`` column) get one such table per size, each against its own `none`.
    """
    if "size" in scores and scores["size"].nunique() > 1:
        return _by_size(scores, protocol=protocol, predictions=predictions, confidence=confidence, power=power)
    if protocol == "adress" and predictions is None:
        raise ValueError("the fixed split's intervals bootstrap test speakers: pass the predictions")
    if predictions is None:
        logger.warning(
            "K-fold scores without out-of-fold predictions: corrected t over cells, too wide with a "
            "small training base (protocol.reserve); no minimum detectable effect"
        )
    rows: list[SummaryRow] = []
    for classifier, per_classifier in scores.groupby("classifier", sort=False):
        base = per_classifier[per_classifier.condition == "none"]
        for (condition, ratio), group in per_classifier.groupby(["condition", "ratio"], sort=False):
            means = {m: summarize(group[m]) if m in group else summarize([]) for m in PAIRED}
            synthetic = float(group.n_extra.mean()) if "n_extra" in group else math.nan
            wanted = float(group.n_wanted.mean()) if "n_wanted" in group else math.nan
            if condition == "none":
                deltas = {m: MetricSummary(m, 0.0, math.nan, math.nan, math.nan, means["f1"].n) for m in PAIRED}
                rows.append(_row(classifier, condition, 0.0, means, deltas, len(group), synthetic, 0.0, ""))
                continue
            pair = _pair(predictions, classifier, condition, ratio) if predictions is not None else None
            if pair is not None:
                deltas = {m: delta_over_speakers(*pair, m, confidence=confidence) for m in PAIRED}
            elif protocol == "kfold":
                deltas = {
                    m: delta_over_cells(group, base, m, confidence=confidence) if m in group else summarize([], m)
                    for m in PAIRED
                }
            else:
                deltas = {
                    m: MetricSummary(m, math.nan, math.nan, math.nan, math.nan, 0, math.nan, "speaker bootstrap")
                    for m in PAIRED
                }
            rows.append(
                _row(
                    classifier,
                    condition,
                    float(ratio),
                    means,
                    deltas,
                    len(group),
                    synthetic,
                    wanted,
                    deltas["f1"].method,
                )
            )
    table = pd.DataFrame([asdict(r) for r in rows])
    if "size" in scores and not table.empty:
        table.insert(1, "size", int(scores["size"].iloc[0]))
    if power and predictions is not None and not table.empty:
        found = design_power(predictions, control=FLIPPED, statistics=("f1", HEADLINE_THRESHOLD_FREE))
        if not found.empty:
            table = table.merge(found, on="classifier", how="left")
    return add_real_equivalents(table) if REAL in set(table.condition) else table


def _by_size(scores: pd.DataFrame, *, predictions: pd.DataFrame | None, **options) -> pd.DataFrame:
    """The low-resource protocol's table: :func:`summary_table` at each training size (``size``,
    :data:`eval.plan.WHOLE` for the whole base; ``base_transcripts``, the real training transcripts
    of its cells), per classifier from the smallest size up."""
    tables = []
    for size in sorted(set(scores["size"]), key=size_order):
        ours = None if predictions is None or "size" not in predictions else predictions[predictions["size"] == size]
        at = scores[scores["size"] == size]
        real = at.n_train - at.get("n_extra", 0)  # the cells' real training transcripts: the base
        tables.append(summary_table(at, predictions=ours, **options).assign(base_transcripts=float(real.mean())))
    table = pd.concat(tables, ignore_index=True)
    order = list(dict.fromkeys(scores.classifier))
    return table.sort_values("classifier", key=lambda c: c.map(order.index), kind="stable").reset_index(drop=True)


def sized(table: pd.DataFrame) -> bool:
    """Whether a table holds several training sizes (the low-resource protocol)."""
    return "size" in table and table["size"].nunique() > 1


def base_name(size: int) -> str:
    """A training size as the table shows it: its speakers, or "all" for the whole base."""
    return "all" if size == WHOLE else f"{size:d}"


def _row(
    classifier: str,
    condition: str,
    ratio: float,
    means: dict[str, MetricSummary],
    deltas: dict[str, MetricSummary],
    cells: int,
    synthetic: float,
    wanted: float,
    interval: str,
) -> SummaryRow:
    paired: dict[str, float] = {}
    for m in PAIRED:
        d = deltas[m]
        paired |= {f"delta_{m}": d.mean, f"delta_{m}_low": d.ci_low, f"delta_{m}_high": d.ci_high, f"p_{m}": d.p}
    return SummaryRow(
        classifier=classifier,
        condition=condition,
        ratio=ratio,
        f1_mean=means["f1"].mean,
        f1_sd=means["f1"].sd,
        auroc_mean=means["auroc"].mean,
        brier_mean=means["brier"].mean,
        log_loss_mean=means["log_loss"].mean,
        cells=cells,
        synthetic=synthetic,
        wanted=wanted,
        interval=interval,
        **paired,
    )


def _pair(
    predictions: pd.DataFrame, classifier: str, condition: str, ratio: float
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A row's out-of-fold predictions and `none`'s, or None (with a warning) where they were not kept."""
    ours = predictions[
        (predictions.classifier == classifier)
        & (predictions.condition == condition)
        & (predictions.ratio.astype(float) == float(ratio))
    ]
    base = predictions[(predictions.classifier == classifier) & (predictions.condition == "none")]
    if ours.empty or base.empty:
        logger.warning(
            "%s %s x%g: no out-of-fold predictions kept (scores from an older run?); its interval "
            "is n/a (K-fold: the corrected t over cells): delete scores.csv to score it again",
            classifier,
            condition,
            ratio,
        )
        return None
    return ours, base


def add_real_equivalents(table: pd.DataFrame) -> pd.DataFrame:
    """Each synthetic row's ΔF1 (and interval) as extra real transcripts per training transcript.

    Read off the same classifier's `real` rows (ΔF1 against ratio, see :class:`RealCurve`).
    New columns: ``real_equivalent`` (and ``_low``/``_high``, clipped to the curve's ends) and
    ``real_equivalent_text``, e.g. "0.3 [<0, 0.6]"; NaN / "—" for `none` and the control rows,
    "n/a" where real data gained nothing or has no ΔF1 (no curve to read).
    """
    columns: dict[str, list] = {
        "real_equivalent": [],
        "real_equivalent_low": [],
        "real_equivalent_high": [],
        "real_equivalent_text": [],
    }
    real = table[(table.condition == REAL) & table.delta_f1.notna()]
    curves = {
        classifier: RealCurve.fit(rows.ratio, rows.delta_f1)
        for classifier, rows in real.groupby("classifier", sort=False)
    }
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
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


def _interval(low: float, high: float) -> str:
    """ "[-0.010, +0.030]", or "n/a" where no interval can be estimated (one cell, no predictions)."""
    return "n/a" if math.isnan(low) or math.isnan(high) else f"[{low:+.3f}, {high:+.3f}]"


def _p(p: float, *, equals: bool = False) -> str:
    """ "0.042", "<0.001" or "n/a"; with ``equals``, a clause: "= 0.042", "< 0.001", "= n/a"."""
    if not math.isnan(p) and p < 0.001:
        return "< 0.001" if equals else "<0.001"
    shown = "n/a" if math.isnan(p) else f"{p:.3g}"
    return f"= {shown}" if equals else shown


def verdict(low: float, high: float) -> str:
    """What a ΔF1 interval says; it excludes 0 exactly when p < 0.05 (same distribution)."""
    if math.isnan(low) or math.isnan(high):
        return "no interval to judge it by (n/a)"
    return "a clear gain" if low > 0 else "a clear loss" if high < 0 else "no clear change (the interval includes 0)"


def _direction(row, metric: str) -> str:
    """ "better", "worse" or "" (the interval includes 0, or is n/a), whichever way the metric points."""
    low, high = getattr(row, f"delta_{metric}_low", math.nan), getattr(row, f"delta_{metric}_high", math.nan)
    if math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return ""
    up = low > 0
    return "worse" if up == (metric in LOWER_IS_BETTER) else "better"


def minimum_detectable(row) -> str:
    """ "ΔF1 0.228 or ΔBrier 0.022", the sizes this run would have seen 80% of the time, or "" if none."""
    shown = [
        f"Δ{NAMES[m]} {getattr(row, f'mde_{m}'):.3f}"
        for m in ("f1", HEADLINE_THRESHOLD_FREE)
        if not math.isnan(getattr(row, f"mde_{m}", math.nan))
    ]
    return " or ".join(shown)


def decision(row) -> str:
    """Which statistic decided a row, in words: F1 first, then the headline threshold-free one;
    without either, "not detected" and the minimum detectable effect that makes it informative."""
    headline = NAMES[HEADLINE_THRESHOLD_FREE]
    if math.isnan(row.delta_f1_low) or math.isnan(row.delta_f1_high):
        return verdict(row.delta_f1_low, row.delta_f1_high)
    if row.delta_f1_low > 0 or row.delta_f1_high < 0:
        return f"detected in F1, {verdict(row.delta_f1_low, row.delta_f1_high)}"
    direction = _direction(row, HEADLINE_THRESHOLD_FREE)
    if direction:
        return (
            f"detected by the {headline} score (P(AD) clearly {direction}), not in F1 at its threshold: "
            f"{verdict(row.delta_f1_low, row.delta_f1_high)} in F1"
        )
    mde = minimum_detectable(row)
    if mde:
        return (
            f"not detected in F1 or the {headline} score: a change of {mde} (the minimum detectable effect) "
            f"would have been seen {POWER:.0%} of the time; this run could not have detected a smaller one"
        )
    why = getattr(row, "mde_note", "")
    why = why if isinstance(why, str) and why else "no out-of-fold predictions to simulate from"
    return f"not detected in F1 or the {headline} score; minimum detectable effect n/a ({why})"


def sentences(table: pd.DataFrame) -> list[str]:
    """The findings in words: per classifier, its baseline and what the design could detect, then
    one sentence per condition (its best ratio) naming the statistic that decided."""
    out: list[str] = []
    headline = HEADLINE_THRESHOLD_FREE
    keys = ["classifier", "size"] if sized(table) else ["classifier"]
    for _, group in table.groupby(keys, sort=False):
        base = group[group.condition == "none"]
        if base.empty:
            continue
        first = base.iloc[0]
        on = f" on {base_name(first['size'])} base speakers" if len(keys) > 1 else ""
        out.append(
            f"With the {first.classifier} classifier{on} and no augmentation, F1 is {first.f1_mean:.3f} (sd "
            f"{_number(first.f1_sd, '.3f')} over {int(first.cells)} cell{'s' * (int(first.cells) != 1)}). "
            + _design_sentence(first)
        )
        for condition, rows in group[group.condition != "none"].groupby("condition", sort=False):
            # The negative control is judged where it should hurt most, everything else at its best.
            best = (
                rows.loc[rows.ratio.idxmax()]
                if condition == FLIPPED
                else rows.loc[rows.delta_f1.fillna(-math.inf).idxmax()]
            )
            control = condition in (REAL, FLIPPED)
            kind = "real" if control else "synthetic"
            used = "" if math.isnan(best.synthetic) else f", {best.synthetic:.0f} {kind} transcripts per training set"
            if best.synthetic < 0.9 * best.wanted:  # NaN (older scores) compares False
                why = "the reserve holds no more" if control else "the rest failed the filters"
                used += f" of the {best.wanted:.0f} the ratio asks for: {why}"
            worth = best.get("real_equivalent_text", "—")
            worth = (
                f"; worth {worth} extra real transcripts per training transcript"
                if isinstance(worth, str) and worth != "—"
                else ""
            )
            second = (
                (
                    f" and the {NAMES[headline]} score by {_number(best[f'delta_{headline}'], '+.3f')} "
                    f"(95% CI {_interval(best[f'delta_{headline}_low'], best[f'delta_{headline}_high'])}, "
                    f"p {_p(best[f'p_{headline}'], equals=True)})"
                )
                if f"delta_{headline}" in best
                else ""
            )
            out.append(
                f"{condition}{CONTROL_ROLE.get(condition, '')} moves F1 by {_number(best.delta_f1, '+.3f')} at "
                f"{'ratio' if condition == FLIPPED else 'its best ratio'} {best.ratio:g} "
                f"(95% CI {_interval(best.delta_f1_low, best.delta_f1_high)}, p {_p(best.p_f1, equals=True)}, "
                f"{best.interval}{used}{worth}){second}: {decision(best)}."
            )
    return out


def _design_sentence(row) -> str:
    if "mde_f1" not in row:
        return "No minimum detectable effect: no out-of-fold predictions to simulate from."
    sizes = [
        f"a Δ{NAMES[m]} of {row[f'mde_{m}']:.3f}"
        for m in STATISTICS
        if f"mde_{m}" in row and not math.isnan(row[f"mde_{m}"])
    ]
    if not sizes:
        return f"Its minimum detectable effect is n/a ({row.mde_note})."
    return (
        f"This design detects {', '.join(sizes[:-1]) + ' or ' if len(sizes) > 1 else ''}{sizes[-1]} "
        f"with {POWER:.0%} power at α {ALPHA:g}; smaller changes could go unseen."
    )


def mde_lines(table: pd.DataFrame) -> list[str]:
    """What the run could have seen, per classifier: the lines the CLI prints above the table."""
    if "mde_f1" not in table:
        return ["Minimum detectable effect: n/a (no out-of-fold predictions to simulate from)."]
    lines = [
        f"Minimum detectable effect ({POWER:.0%} power at α {ALPHA:g}, this run's test speakers, seeds and "
        "interval; a smaller change could go unseen):"
    ]
    keys = ["classifier", "size"] if sized(table) else ["classifier"]
    for _, row in table.drop_duplicates(keys).iterrows():
        sizes = [f"Δ{NAMES[m]} {_number(row[f'mde_{m}'], '.3f')}" for m in STATISTICS if f"mde_{m}" in row]
        note = f" ({row.mde_note})" if isinstance(row.mde_note, str) and row.mde_note else ""
        on = f" on {base_name(row['size'])} base speakers" if len(keys) > 1 else ""
        lines.append(f"  {row.classifier}{on}: {', '.join(sizes)}{note}")
    return lines


def interval_note(table: pd.DataFrame) -> str:
    """Lines under a printed table saying how its intervals, p-values and MDEs were computed."""
    methods = [m for m in dict.fromkeys(table.interval) if m]
    how = "; ".join(INTERVAL_NOTE.get(m, m) for m in methods) or "no paired rows"
    note = (
        f"ΔF1: mean paired difference against none with a {how} (the interval excludes 0 exactly when "
        f"p < 0.05). Δ{NAMES[HEADLINE_THRESHOLD_FREE]}, the threshold-free statistic this table leads with "
        f"(chosen for its power: docs/statistics.md): the same for the Brier score, the mean squared error of "
        f"P(AD); lower is better, so a gain is negative. ΔAUROC, in summary.csv with Δlog-loss: the same for "
        f"the ranking. A verdict names the statistic that decided; the minimum detectable effect is the change "
        f"this design detects {POWER:.0%} of the time (eval.power)."
    )
    if "real_equivalent_text" in table:
        note += (
            " ≈ real: the ΔF1 read off the `real` learning curve as extra real transcripts per training "
            "transcript, [interval]; < / >: beyond the curve's ends."
        )
    return note


def _used(condition: str, synthetic: float, wanted: float) -> str:
    """ "24/52": extra transcripts used of those the ratio asks for (per training set)."""
    if condition == "none" or math.isnan(synthetic):
        return "—"
    return f"{synthetic:.0f}" if math.isnan(wanted) else f"{synthetic:.0f}/{wanted:.0f}"


def format_table(table: pd.DataFrame, *, statistics: tuple[str, ...] = ("f1", HEADLINE_THRESHOLD_FREE)) -> pd.DataFrame:
    """Strings for printing: F1 mean ± sd, then per paired statistic "Δ [95% CI] p", extra text used, ≈ real.

    "synthetic" is what passed the filters and reached training per cell, of what the ratio
    asks for: with weak generators it falls short of ratio x real, and a reader must see that
    next to ΔF1 (two ratios that got the same records are the same experiment). An interval
    or p that cannot be estimated (one cell) reads "n/a". ``statistics``: which of
    :data:`PAIRED` get a column (the console shows ΔF1 and the headline, the report all
    three). The "≈ real" column is there only when the table has the `real` condition.
    """

    def delta(row, m: str) -> str:
        if row.condition == "none":
            return "—"
        if f"delta_{m}" not in row._fields:
            return "n/a"
        low, high, p = (getattr(row, f"delta_{m}_low"), getattr(row, f"delta_{m}_high"), getattr(row, f"p_{m}"))
        shown = f"{_number(getattr(row, f'delta_{m}'), '+.3f')} {_interval(low, high)}"
        return shown if math.isnan(p) else f"{shown} p {_p(p)}"

    shown = pd.DataFrame(
        {
            "classifier": table.classifier,
            **({"base": [base_name(size) for size in table["size"]]} if sized(table) else {}),
            "condition": table.condition,
            "ratio": [("—" if c == "none" else f"{r:g}") for c, r in zip(table.condition, table.ratio, strict=True)],
            "synthetic": [
                _used(c, n, w) for c, n, w in zip(table.condition, table.synthetic, table.wanted, strict=True)
            ],
            "F1 mean ± sd": [f"{m:.3f} ± {_number(s, '.3f')}" for m, s in zip(table.f1_mean, table.f1_sd, strict=True)],
        }
    )
    for m in statistics:
        shown[f"Δ{NAMES[m]} [95% CI] p"] = [delta(r, m) for r in table.itertuples()]
    if "real_equivalent_text" in table:
        shown["≈ real"] = table.real_equivalent_text.fillna("—").to_numpy()
    return shown
