"""Plots and the Markdown/HTML report of a benchmark, written into ``runs/<name>/report/``
(:func:`write_benchmark_report`) before :mod:`eval.tracking_layout` logs the folder."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure  # not pyplot: plots are files, no backend or global figure state

from detect import tracking
from detect.records import Corpus
from eval.analysis import (
    HEADLINE_THRESHOLD_FREE,
    NAMES,
    THRESHOLD_FREE,
    base_name,
    format_table,
    interval_note,
    mde_lines,
    sentences,
    sized,
)
from eval.config import BenchmarkConfig
from eval.plan import WHOLE

HEADING = f"## What moved F1 and the {NAMES[HEADLINE_THRESHOLD_FREE]} score"
PLOT_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate")
SIMULATED_NOTE = (
    "The corpus is the shipped simulated cohort: these numbers show the pipeline working, "
    "they are not clinical results."
)


def write_benchmark_report(folder: Path, config: BenchmarkConfig, *, corpus: Corpus, scores: pd.DataFrame,
                           table: pd.DataFrame, quality: pd.DataFrame, marker_frame: pd.DataFrame,
                           timings: dict[str, float], simulated: bool, quality_report=None) -> Path:
    """The report folder: scores, summary and quality tables, plots, report.md and report.html
    (returned).

    ``quality_report`` (:class:`augment.quality.QualityReport`): the generation-quality report
    per condition and style, the same as ``cookiebench augment evaluate`` writes, as ``quality.json``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    table.to_csv(folder / "summary.csv", index=False)
    quality.to_csv(folder / "quality.csv", index=False)
    if quality_report is not None:
        (folder / "quality.json").write_text(quality_report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    whole = table[table["size"] == WHOLE] if sized(table) else table  # the low-resource sizes: size_curve
    images = [delta_f1_chart(whole, folder / "delta_f1.png"), ratio_curve(whole, folder / "ratio_curve.png")]
    if sized(table):
        images.append(size_curve(table, folder / "size_curve.png"))
    if len(set(marker_frame.group)) > 2:
        images.append(marker_distributions(marker_frame, folder / "marker_distributions.png", PLOT_MARKERS))
    context = {
        "benchmark": config.name, "config digest": config.digest(), "corpus": str(corpus.root),
        "corpus digest": corpus.digest(), "code": tracking.git_commit(),
        "protocol": config.protocol.describe(),
        "wall time by stage (s)": ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    }
    _, report = write_report(folder, title=f"cookiebench: {config.name}", table=table, quality=quality,
                             images=images, context=context, simulated=simulated)
    return report


def delta_f1_chart(table: pd.DataFrame, path: Path) -> Path:
    """ΔF1 against `none` with 95% intervals, one panel per classifier, grouped by condition."""
    aug = table[table.condition != "none"]
    classifiers = list(dict.fromkeys(aug.classifier))
    bars = max(1, len(aug) // max(1, len(classifiers)))
    panel_width = max(5.5, 0.75 * bars)  # room for every condition x ratio label
    fig = Figure(figsize=(panel_width * max(1, len(classifiers)), 4.5))
    axes = fig.subplots(1, max(1, len(classifiers)), squeeze=False)
    for ax, classifier in zip(axes[0], classifiers):
        rows = aug[aug.classifier == classifier].reset_index(drop=True)
        labels = [f"{c}\n×{r:g}" for c, r in zip(rows.condition, rows.ratio)]
        x = range(len(rows))
        colors = ["tab:green" if lo > 0 else "tab:red" if hi < 0 else "tab:gray"  # NaN (n/a): gray
                  for lo, hi in zip(rows.delta_f1_low, rows.delta_f1_high)]
        ax.bar(x, rows.delta_f1, color=colors, alpha=0.7)
        known = rows[rows.delta_f1_low.notna() & rows.delta_f1_high.notna()]  # no bar for an n/a interval
        ax.errorbar(known.index, known.delta_f1, yerr=[known.delta_f1 - known.delta_f1_low,
                                                       known.delta_f1_high - known.delta_f1],
                    fmt="none", ecolor="black", capsize=3)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(list(x), labels, fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_ylabel("ΔF1 vs no augmentation")
        methods = ", ".join(m for m in dict.fromkeys(rows.interval) if m)
        ax.set_title(f"{classifier}: ΔF1 with 95% CI ({methods})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def ratio_curve(table: pd.DataFrame, path: Path) -> Path:
    """Mean F1 over the augmentation ratio, one line per condition, `none` as a reference line."""
    classifiers = list(dict.fromkeys(table.classifier))
    fig = Figure(figsize=(5.5 * len(classifiers), 4))
    axes = fig.subplots(1, len(classifiers), squeeze=False)
    for ax, classifier in zip(axes[0], classifiers):
        rows = table[table.classifier == classifier]
        base = rows[rows.condition == "none"]
        if not base.empty:
            ax.axhline(base.f1_mean.iloc[0], color="black", linestyle="--", label="none")
        for condition, group in rows[rows.condition != "none"].groupby("condition", sort=False):
            group = group.sort_values("ratio")
            ax.errorbar(group.ratio, group.f1_mean, yerr=group.f1_sd, marker="o", capsize=3, label=condition)
        ax.set_xlabel("synthetic per real (per class)")
        ax.set_ylabel("F1 (AD positive), mean ± sd")
        ax.set_title(f"{classifier}: F1 over augmentation ratio")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def size_curve(table: pd.DataFrame, path: Path) -> Path:
    """The low-resource protocol: F1 (top) and the headline threshold-free statistic (bottom) against
    the training size, one panel per classifier, one line per condition and ratio, `none` dashed.
    A filled point's paired interval against `none` at that size excludes 0 (by that row's
    statistic); a hollow one's does not."""
    headline = HEADLINE_THRESHOLD_FREE
    classifiers = list(dict.fromkeys(table.classifier))
    fig = Figure(figsize=(5.5 * len(classifiers), 8))
    axes = fig.subplots(2, len(classifiers), squeeze=False)
    for column, classifier in enumerate(classifiers):
        rows = table[table.classifier == classifier]
        sizes = rows.drop_duplicates("size").sort_values("base_transcripts")
        for ax, metric in zip(axes[:, column], ("f1", headline)):
            for i, ((condition, ratio), line) in enumerate(rows.groupby(["condition", "ratio"], sort=False)):
                line = line.sort_values("base_transcripts")
                label = condition if condition == "none" else f"{condition} ×{ratio:g}"
                style = {"color": "black", "linestyle": "--"} if condition == "none" else {"color": f"C{i % 10}"}
                ax.plot(line.base_transcripts, line[f"{metric}_mean"], label=label, **style)
                clear = (line[f"delta_{metric}_low"] > 0) | (line[f"delta_{metric}_high"] < 0)
                ax.scatter(line.base_transcripts, line[f"{metric}_mean"], edgecolors=style["color"],
                           facecolors=[style["color"] if c else "white" for c in clear], zorder=3)
            ax.set_xscale("log")
            ax.set_xticks(sizes.base_transcripts, [f"{base_name(s)}\n({n:.0f})" for s, n in
                                                   zip(sizes["size"], sizes.base_transcripts)], fontsize=8)
            ax.minorticks_off()
            ax.set_xlabel("training size: base speakers (real training transcripts)")
            ax.set_ylabel(f"{NAMES[metric]} (mean over repeats){'; lower is better' if metric == headline else ''}")
            ax.set_title(f"{classifier}: {NAMES[metric]} against training size")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def marker_distributions(markers: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> Path:
    """Box plots of markers, real vs synthetic per style. `markers` has columns group + markers."""
    present = [c for c in columns if c in markers.columns]
    fig = Figure(figsize=(3.2 * len(present), 4))
    axes = fig.subplots(1, len(present), squeeze=False)
    groups = list(dict.fromkeys(markers.group))
    for ax, column in zip(axes[0], present):
        data = [markers.loc[markers.group == g, column].dropna() for g in groups]
        ax.boxplot(data, tick_labels=groups, showfliers=False)
        ax.set_title(column)
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_report(
    folder: Path,
    *,
    title: str,
    table: pd.DataFrame,
    quality: pd.DataFrame | None,
    images: list[Path],
    context: dict[str, str],
    simulated: bool,
) -> tuple[Path, Path]:
    """report.md and report.html in `folder`; images are referenced by file name.

    The findings in sentences (each verdict naming the statistic that decided, each "not
    detected" with its minimum detectable effect), what the design could detect, then the
    summary table with ΔF1, ΔBrier and ΔAUROC.
    """
    lines = sentences(table)
    detectable = mde_lines(table)
    shown = format_table(table, statistics=("f1", *THRESHOLD_FREE))
    md = [f"# {title}", ""]
    if simulated:
        md += [f"> **{SIMULATED_NOTE}**", ""]
    note = interval_note(table)
    md += [HEADING, "", *[f"- {s}" for s in lines], "", "## What this run could detect", "", detectable[0], "",
           *[f"- {line.strip()}" for line in detectable[1:]], "", "## Summary", "", shown.to_markdown(index=False), "",
           note, ""]
    if quality is not None and not quality.empty:
        md += ["## Synthetic data quality", "", quality.to_markdown(index=False, floatfmt=".3f"), ""]
    md += ["## Run", "", *[f"- {k}: {v}" for k, v in context.items()], ""]
    md += [f"![{p.stem}]({p.name})" for p in images]
    markdown_path = folder / "report.md"
    markdown_path.write_text("\n".join(md) + "\n", encoding="utf-8")

    body = [f"<h1>{html.escape(title)}</h1>"]
    if simulated:
        body.append(f"<p style='background:#fff3cd;padding:8px'><b>{html.escape(SIMULATED_NOTE)}</b></p>")
    body.append(f"<h2>{html.escape(HEADING.removeprefix('## '))}</h2><ul>"
                + "".join(f"<li>{html.escape(s)}</li>" for s in lines) + "</ul>")
    body.append(f"<h2>What this run could detect</h2><p>{html.escape(detectable[0])}</p><ul>"
                + "".join(f"<li>{html.escape(line.strip())}</li>" for line in detectable[1:]) + "</ul>")
    body.append("<h2>Summary</h2>" + shown.to_html(index=False, border=0) + f"<p>{html.escape(note)}</p>")
    if quality is not None and not quality.empty:
        body.append("<h2>Synthetic data quality</h2>" + quality.to_html(index=False, border=0, float_format="%.3f"))
    body.append("<h2>Run</h2><ul>" + "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>"
                                            for k, v in context.items()) + "</ul>")
    body += [f"<img src='{html.escape(p.name)}' style='max-width:100%'>" for p in images]
    html_path = folder / "report.html"
    html_path.write_text(
        "<!doctype html><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{padding:2px 8px}</style>"
        + "\n".join(body),
        encoding="utf-8",
    )
    return markdown_path, html_path
