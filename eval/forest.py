"""Forest plots of the paired statistics: one row per condition and ratio, its Δ against `none`
and 95% interval, a panel per classifier, stacked.

Sized for the MLflow artifact viewer: it shows an image at most as wide as its pane, about
500 px in a 1400 px window (file tree, side bar and assistant beside it), 1000 px in a wide one.
The image is 1000 px wide at 150 dpi, so that its 10 pt text (21 px) still reads at half size.

A classifier whose P(AD) is constant in every cell (the majority floor) moves no statistic: it
gets no panel, a line under the plot says so (:func:`constant_classifiers`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure  # not pyplot: plots are files, no backend or global figure state

from detect.metrics import LOWER_IS_BETTER
from eval.analysis import INTERVAL_NOTE, NAMES
from eval.config import CONTROLS, FLIPPED, REAL

WIDTH_PX, DPI = 1000, 150
WIDTH_IN = WIDTH_PX / DPI
ROW_IN, PANEL_EXTRA_IN = 0.3, 0.85  # a row's height; a panel's title and axis
FONT = 10
CONTROL_LABEL = {REAL: "real (+ control)", FLIPPED: "flipped (− control)"}
COLORS = {"condition": "tab:blue", "control": "dimgray"}


def constant_classifiers(table: pd.DataFrame) -> list[str]:
    """Classifiers with a constant P(AD) in every cell: AUROC 0.5 in every row and no paired row
    whose AUROC moved (every ΔAUROC and both ends of its interval 0, as a constant score gives)."""
    out = []
    for classifier, rows in table.groupby("classifier", sort=False):
        paired = rows[rows.condition != "none"]
        if (
            (rows.auroc_mean == 0.5).all()
            and not paired.empty
            and (paired[["delta_auroc", "delta_auroc_low", "delta_auroc_high"]] == 0).all(axis=None)
        ):
            out.append(str(classifier))
    return out


def forest_plot(table: pd.DataFrame, path: Path, statistic: str = "f1") -> Path:
    """:func:`forest_figure` as a PNG at ``path``, 1000 px wide."""
    forest_figure(table, statistic).savefig(path, dpi=DPI)
    return path


def forest_figure(table: pd.DataFrame, statistic: str = "f1") -> Figure:
    """Δ``statistic`` against `none` with 95% intervals: a panel per classifier (constant ones
    left out, with a note), a row per condition and ratio, controls in gray squares on a shaded
    band, a filled marker where the interval excludes 0; each row's Δ and interval written on
    the right."""
    name = NAMES[statistic]
    constant = constant_classifiers(table)
    paired = table[(table.condition != "none") & ~table.classifier.isin(constant)]
    classifiers = list(dict.fromkeys(paired.classifier))
    sizes = [len(paired[paired.classifier == c]) for c in classifiers]
    height = sum(ROW_IN * n + PANEL_EXTRA_IN for n in sizes) + 1.4
    fig = Figure(figsize=(WIDTH_IN, max(height, 2.5)), dpi=DPI, layout="constrained")
    methods = "; ".join(INTERVAL_NOTE.get(m, m) for m in dict.fromkeys(paired.interval) if m) or "no paired rows"
    better = "lower is better: a gain is negative" if statistic in LOWER_IS_BETTER else "higher is better"
    fig.suptitle(f"Δ{name} against no augmentation, 95% interval\n({better})", fontsize=FONT + 1)
    notes = [
        f"Filled: the interval excludes 0 (p < 0.05); open: it does not. Gray squares on a shaded "
        f"band: the controls. Intervals: {methods}."
    ]
    notes += [f"{c}: constant P(AD) in every cell (the floor): no Δ to show." for c in constant]
    fig.supxlabel("\n".join(notes), fontsize=FONT - 1, wrap=True)
    if not classifiers:
        return fig
    axes = fig.subplots(
        len(classifiers),
        1,
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [n + PANEL_EXTRA_IN / ROW_IN for n in sizes]},
    )[:, 0]
    for ax, classifier in zip(axes, classifiers, strict=False):
        base = table[(table.classifier == classifier) & (table.condition == "none")]
        _panel(ax, paired[paired.classifier == classifier], statistic)
        baseline = f"{getattr(base.iloc[0], _mean(statistic)):.3f}" if not base.empty else "n/a"
        ax.set_title(
            f"{classifier}: {name} without augmentation {baseline}", fontsize=FONT, loc="left", fontweight="bold"
        )
    axes[-1].set_xlabel(f"Δ{name} against no augmentation", fontsize=FONT)
    return fig


def _mean(statistic: str) -> str:
    return f"{statistic}_mean"


def _panel(ax, rows: pd.DataFrame, statistic: str) -> None:
    """One classifier's rows, top to bottom in the table's order, a gap between conditions."""
    y, labels, shown, positions = 0.0, [], [], []
    previous = None
    for row in rows.itertuples():
        if previous is not None and row.condition != previous:
            y += 0.5
        previous = row.condition
        positions.append(y)
        low, high = getattr(row, f"delta_{statistic}_low"), getattr(row, f"delta_{statistic}_high")
        delta = getattr(row, f"delta_{statistic}")
        control = row.condition in CONTROLS
        color = COLORS["control" if control else "condition"]
        if control:
            ax.axhspan(y - 0.5, y + 0.5, color="0.93", zorder=0)
        known = not (math.isnan(low) or math.isnan(high))
        if known:
            ax.hlines(y, low, high, color=color, linewidth=2, zorder=2)
        detected = known and (low > 0 or high < 0)
        ax.plot(
            [delta],
            [y],
            marker="s" if control else "o",
            markersize=7,
            color=color,
            zorder=3,
            markerfacecolor=color if detected else "white",
            markeredgewidth=1.8,
        )
        labels.append(f"{CONTROL_LABEL.get(row.condition, row.condition)} ×{row.ratio:g}")
        shown.append(
            f"{delta:+.3f} [{low:+.3f}, {high:+.3f}]"
            if known
            else ("n/a" if math.isnan(delta) else f"{delta:+.3f} (no interval)")
        )
        y += 1
    ax.axvline(0, color="black", linewidth=1.2, zorder=2.5)
    ax.set_yticks(positions, labels, fontsize=FONT)
    ax.set_ylim(y - 0.5, -0.6)  # first row on top
    ax.tick_params(axis="x", labelsize=FONT, labelbottom=True)  # a scale under every panel of a tall image
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    right = ax.secondary_yaxis("right")
    right.set_yticks(positions, shown, fontsize=FONT - 1, family="monospace")
    right.tick_params(length=0)
