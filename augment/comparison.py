"""Markers of sampled descriptions against real AD and HC: the table and plot of a training run.

Did SFT and DPO move the generators toward their style? :func:`compare_markers` measures
real AD, real HC, the bare base model and each stage's samples on the same markers and on
the style axis (:mod:`augment.style_axis`); :func:`plot_comparison` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from augment.prompts import STYLE_LABEL
from augment.style_axis import STYLE_MARKERS, StyleAxis
from detect.markers import real_verbatim, verbatim_markers
from detect.records import Transcript

COMPARE_MARKERS: tuple[str, ...] = (*STYLE_MARKERS, "mattr", "filler_rate", "trailing_off_rate")


def compare_markers(transcripts: Sequence[Transcript], samples: Mapping[str, Sequence[str]], extractor: Any = None):
    """Mean markers of real AD, real HC and each sample group (``"sft:ad"`` -> texts), with a style score.

    ``style_score`` is the position on the AD-HC axis fitted to the real transcripts
    (:class:`augment.style_axis.StyleAxis`): positive is AD-like, negative HC-like.
    """
    groups: dict[str, list[str]] = {
        "real AD": [real_verbatim(t) for t in transcripts if t.label == STYLE_LABEL["ad"]],
        "real HC": [real_verbatim(t) for t in transcripts if t.label == STYLE_LABEL["hc"]],
        **{name: [s for s in texts if s.strip()] for name, texts in samples.items()},
    }
    texts = [t for group in groups.values() for t in group]
    frame = verbatim_markers(texts, extractor)
    frame["group"] = [name for name, group in groups.items() for _ in group]
    axis = StyleAxis.fit(frame[frame.group == "real AD"], frame[frame.group == "real HC"])
    frame["style_score"] = [axis.score(row) for _, row in frame.iterrows()]
    table = frame.groupby("group", sort=False)[[*COMPARE_MARKERS, "style_score"]].mean()
    table.insert(0, "n", frame.groupby("group", sort=False).size())
    return table.reindex(list(groups)).round(4), frame


def plot_comparison(table, path: Path) -> Path:
    """Bars of the style score and the style markers, one row per group (red AD, blue HC, grey base)."""
    columns = ["style_score", *STYLE_MARKERS]
    fig = Figure(figsize=(3.0 * len(columns), 0.45 * len(table) + 1.2))  # no pyplot: no global backend state
    axes = fig.subplots(1, len(columns), sharey=True)
    colours = [
        "#b2182b" if "AD" in g or g.endswith(":ad") else "#2166ac" if "HC" in g or g.endswith(":hc") else "#777777"
        for g in table.index
    ]
    for ax, column in zip(axes, columns, strict=False):
        ax.barh(range(len(table)), table[column], color=colours)
        ax.set_title(column, fontsize=9)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(range(len(table)), table.index)
    axes[0].invert_yaxis()
    fig.suptitle("Markers of sampled descriptions vs real transcripts (style_score > 0: AD-like)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
