"""Plots and the Markdown/HTML report of a benchmark, written into ``runs/<name>/report/``
(:func:`write_benchmark_report`) before :mod:`eval.tracking_layout` logs the folder, and the
run's description (:func:`run_description`, ``description.md``): the verdict the MLflow run
page shows first."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure  # not pyplot: plots are files, no backend or global figure state

from detect import tracking
from detect.records import Corpus
from eval.analysis import (
    HEADLINE_THRESHOLD_FREE,
    INTERVAL_NOTE,
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
from eval.forest import DPI, WIDTH_IN, constant_classifiers, forest_plot
from eval.plan import WHOLE

HEADING = f"## What moved F1 and the {NAMES[HEADLINE_THRESHOLD_FREE]} score"
PLOT_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate")
SIMULATED_NOTE = (
    "The corpus is the shipped simulated cohort: these numbers show the pipeline working, "
    "they are not clinical results."
)
DESCRIPTION = "description.md"  # in the report folder: the MLflow run's description


def write_benchmark_report(
    folder: Path,
    config: BenchmarkConfig,
    *,
    corpus: Corpus,
    scores: pd.DataFrame,
    table: pd.DataFrame,
    quality: pd.DataFrame,
    marker_frame: pd.DataFrame,
    timings: dict[str, float],
    simulated: bool,
    quality_report=None,
) -> Path:
    """The report folder: scores, summary and quality tables, plots, report.md and report.html
    (returned).

    ``quality_report`` (:class:`augment.quality_results.QualityReport`): the generation-quality report
    per condition and style, the same as ``cookiebench augment evaluate`` writes, as ``quality.json``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    table.to_csv(folder / "summary.csv", index=False)
    quality.to_csv(folder / "quality.csv", index=False)
    if quality_report is not None:
        (folder / "quality.json").write_text(quality_report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    whole = table[table["size"] == WHOLE] if sized(table) else table  # the low-resource sizes: size_curve
    images = [
        forest_plot(whole, folder / "delta_f1.png", "f1"),
        forest_plot(whole, folder / f"delta_{HEADLINE_THRESHOLD_FREE}.png", HEADLINE_THRESHOLD_FREE),
        ratio_curve(whole, folder / "ratio_curve.png"),
    ]
    if sized(table):
        images.append(size_curve(table, folder / "size_curve.png"))
    if len(set(marker_frame.group)) > 2:
        images.append(marker_distributions(marker_frame, folder / "marker_distributions.png", PLOT_MARKERS))
    context = {
        "benchmark": config.name,
        "config digest": config.digest(),
        "corpus": str(corpus.root),
        "corpus digest": corpus.digest(),
        "code": tracking.git_commit(),
        "protocol": config.protocol.describe(),
        "wall time by stage (s)": ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    }
    _, report = write_report(
        folder,
        title=f"cookiebench: {config.name}",
        table=table,
        quality=quality,
        images=images,
        context=context,
        simulated=simulated,
    )
    (folder / DESCRIPTION).write_text(run_description(config.name, table, simulated=simulated), encoding="utf-8")
    return report


def run_description(name: str, table: pd.DataFrame, *, simulated: bool, limit: int = tracking.NOTE_LIMIT) -> str:
    """The verdict in Markdown, for the run page's description: the headline table (ΔF1 and
    Δ{headline}), what the run could detect, the findings in sentences, where the rest is.

    A classifier with a constant P(AD) (the majority floor) keeps its `none` row and a line
    saying so: its other rows are all 0. The text stays within ``limit`` characters (what
    MLflow keeps of a tag): findings that do not fit, then table rows, are left to the report,
    and the text says how many.
    """
    constant = constant_classifiers(table)
    shown = table[~(table.classifier.isin(constant) & (table.condition != "none"))]
    head = [f"**{SIMULATED_NOTE}**", ""] if simulated else []
    head += [f"### {name}: Δ against no augmentation, 95% interval", ""]
    methods = "; ".join(INTERVAL_NOTE.get(m, m) for m in dict.fromkeys(table.interval) if m)
    under = [""] + [f"{c}: constant P(AD) in every cell (the floor); every Δ is 0." for c in constant]
    under += [
        f"_Intervals: {methods}. {NAMES[HEADLINE_THRESHOLD_FREE]}: lower is better, a gain is negative._"
        if methods
        else "",
        "",
    ]
    detectable = mde_lines(table)
    mde = [
        "### What this run could detect",
        "",
        detectable[0],
        "",
        *[f"- {line.strip()}" for line in detectable[1:]],
        "",
        HEADING.replace("## ", "### "),
        "",
    ]
    tail = [
        "",
        "Charts, the whole report and the tables: Artifacts > report (delta_f1.png, "
        f"delta_{HEADLINE_THRESHOLD_FREE}.png, report.html, summary.csv).",
    ]
    rows = _markdown_rows(format_table(shown))
    findings = [f"- {line}" for line in sentences(shown)]

    def size(*parts: list[str]) -> int:
        return sum(len(line) + 1 for part in parts for line in part)

    room = limit - size(head, rows[:2], under, mde, tail) - 200  # 200: the lines saying what was left out
    kept_rows = _fit(rows[2:], room)
    cut_rows = len(rows) - 2 - len(kept_rows)
    table_part = rows[:2] + kept_rows + ([f"\n… {cut_rows} more rows in report/summary.csv"] if cut_rows else [])
    kept = _fit(findings, room - size(kept_rows))
    if len(kept) < len(findings):
        kept.append(f"- … {len(findings) - len(kept)} more in report/report.md")
    return "\n".join([*head, *table_part, *under, *mde, *kept, *tail]) + "\n"


def _markdown_rows(frame: pd.DataFrame) -> list[str]:
    """A frame as Markdown table lines, unpadded (a run description has a character limit)."""

    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return [line(frame.columns), line(["---"] * len(frame.columns)), *(line(r) for r in frame.itertuples(index=False))]


def _fit(lines: list[str], room: int) -> list[str]:
    """The first lines whose total length (with newlines) is within ``room``."""
    kept, used = [], 0
    for text in lines:
        used += len(text) + 1
        if used > room:
            break
        kept.append(text)
    return kept


def _grid(fig: Figure, panels: int, columns: int):
    """``panels`` axes in rows of ``columns`` (the spare ones hidden): a block, not a wide strip."""
    columns = max(1, min(columns, panels))
    axes = fig.subplots(math.ceil(panels / columns), columns, squeeze=False).ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return axes[:panels]


def ratio_curve(table: pd.DataFrame, path: Path) -> Path:
    """Mean F1 over the augmentation ratio, one line per condition, `none` as a reference line;
    a classifier with a constant P(AD) (the majority floor) is a dotted line in the others' panels."""
    constant = constant_classifiers(table)
    floors = table[table.classifier.isin(constant) & (table.condition == "none")]
    classifiers = [c for c in dict.fromkeys(table.classifier) if c not in constant] or list(constant)
    columns = 2
    fig = Figure(figsize=(WIDTH_IN, 2.6 * math.ceil(len(classifiers) / columns) + 0.8), layout="constrained")
    fig.supylabel("F1 (AD positive), mean ± sd")
    fig.supxlabel("synthetic per real (per class)")
    for ax, classifier in zip(_grid(fig, len(classifiers), columns), classifiers, strict=True):
        rows = table[table.classifier == classifier]
        base = rows[rows.condition == "none"]
        if not base.empty:
            ax.axhline(base.f1_mean.iloc[0], color="black", linestyle="--", label="none")
        for floor in floors.itertuples():
            if floor.classifier != classifier:
                ax.axhline(floor.f1_mean, color="gray", linestyle=":", label=f"{floor.classifier} (floor)")
        for condition, group in rows[rows.condition != "none"].groupby("condition", sort=False):
            group = group.sort_values("ratio")
            ax.errorbar(group.ratio, group.f1_mean, yerr=group.f1_sd, marker="o", capsize=3, label=condition)
        ax.set_title(f"{classifier}: F1 over ratio")
    handles, labels = fig.axes[0].get_legend_handles_labels()  # the same conditions in every panel
    fig.legend(handles, labels, loc="outside upper center", ncols=4, fontsize=9)
    fig.savefig(path, dpi=DPI)
    return path


def size_curve(table: pd.DataFrame, path: Path) -> Path:
    """The low-resource protocol: F1 (top) and the headline threshold-free statistic (bottom) against
    the training size, one panel per classifier, one line per condition and ratio, `none` dashed.
    A filled point's paired interval against `none` at that size excludes 0 (by that row's
    statistic); a hollow one's does not."""
    headline = HEADLINE_THRESHOLD_FREE
    classifiers = list(dict.fromkeys(table.classifier))
    fig = Figure(figsize=(max(WIDTH_IN, 3.4 * len(classifiers)), 7), layout="constrained")
    fig.supxlabel("training size: base speakers (real training transcripts)")
    axes = fig.subplots(2, len(classifiers), squeeze=False)
    for column, classifier in enumerate(classifiers):
        rows = table[table.classifier == classifier]
        sizes = rows.drop_duplicates("size").sort_values("base_transcripts")
        for ax, metric in zip(axes[:, column], ("f1", headline), strict=False):
            for i, ((condition, ratio), line) in enumerate(rows.groupby(["condition", "ratio"], sort=False)):
                line = line.sort_values("base_transcripts")
                label = condition if condition == "none" else f"{condition} ×{ratio:g}"
                style = {"color": "black", "linestyle": "--"} if condition == "none" else {"color": f"C{i % 10}"}
                ax.plot(line.base_transcripts, line[f"{metric}_mean"], label=label, **style)
                clear = (line[f"delta_{metric}_low"] > 0) | (line[f"delta_{metric}_high"] < 0)
                ax.scatter(
                    line.base_transcripts,
                    line[f"{metric}_mean"],
                    edgecolors=style["color"],
                    facecolors=[style["color"] if c else "white" for c in clear],
                    zorder=3,
                )
            ax.set_xscale("log")
            ax.set_xticks(
                sizes.base_transcripts,
                [f"{base_name(s)}\n({n:.0f})" for s, n in zip(sizes["size"], sizes.base_transcripts, strict=True)],
                fontsize=8,
            )
            ax.minorticks_off()
            ax.set_ylabel(f"{NAMES[metric]} (mean over repeats){'; lower is better' if metric == headline else ''}")
            ax.set_title(f"{classifier}: {NAMES[metric]} against training size")
            ax.legend(fontsize=7)
    fig.savefig(path, dpi=DPI)
    return path


def marker_distributions(markers: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> Path:
    """Box plots of markers, real vs synthetic per style. `markers` has columns group + markers."""
    present = [c for c in columns if c in markers.columns]
    per_row = 2
    fig = Figure(figsize=(WIDTH_IN, 3.2 * math.ceil(len(present) / per_row)), layout="constrained")
    groups = list(dict.fromkeys(markers.group))
    for ax, column in zip(_grid(fig, len(present), per_row), present, strict=True):
        data = [markers.loc[markers.group == g, column].dropna() for g in groups]
        ax.boxplot(data, tick_labels=groups, showfliers=False)
        ax.set_title(column)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.savefig(path, dpi=DPI)
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
    md += [
        HEADING,
        "",
        *[f"- {s}" for s in lines],
        "",
        "## What this run could detect",
        "",
        detectable[0],
        "",
        *[f"- {line.strip()}" for line in detectable[1:]],
        "",
        "## Summary",
        "",
        shown.to_markdown(index=False),
        "",
        note,
        "",
    ]
    if quality is not None and not quality.empty:
        md += ["## Synthetic data quality", "", quality.to_markdown(index=False, floatfmt=".3f"), ""]
    md += ["## Run", "", *[f"- {k}: {v}" for k, v in context.items()], ""]
    md += [f"![{p.stem}]({p.name})" for p in images]
    markdown_path = folder / "report.md"
    markdown_path.write_text("\n".join(md) + "\n", encoding="utf-8")

    body = [f"<h1>{html.escape(title)}</h1>"]
    if simulated:
        body.append(f"<p style='background:#fff3cd;padding:8px'><b>{html.escape(SIMULATED_NOTE)}</b></p>")
    body.append(
        f"<h2>{html.escape(HEADING.removeprefix('## '))}</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in lines)
        + "</ul>"
    )
    body.append(
        f"<h2>What this run could detect</h2><p>{html.escape(detectable[0])}</p><ul>"
        + "".join(f"<li>{html.escape(line.strip())}</li>" for line in detectable[1:])
        + "</ul>"
    )
    body.append("<h2>Summary</h2>" + shown.to_html(index=False, border=0) + f"<p>{html.escape(note)}</p>")
    if quality is not None and not quality.empty:
        body.append("<h2>Synthetic data quality</h2>" + quality.to_html(index=False, border=0, float_format="%.3f"))
    body.append(
        "<h2>Run</h2><ul>"
        + "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in context.items())
        + "</ul>"
    )
    body += [f"<img src='{html.escape(p.name)}' style='max-width:100%'>" for p in images]
    html_path = folder / "report.html"
    html_path.write_text(
        "<!doctype html><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{padding:2px 8px}</style>"
        + "\n".join(body),
        encoding="utf-8",
    )
    return markdown_path, html_path
