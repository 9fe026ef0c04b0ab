"""A classifier cell: what it adds to its fold's real training set, and its score.

A cell of condition ``c`` at ratio ``r`` trains on the fold's real training transcripts plus the
first ``r`` x n_real records per class of its group's pool (nested sets across ratios): the
passing synthetic records of ``c`` in record order, or for the controls the group's reserve
(`real` as labelled, `flipped` with the other label). It is tested on the fold's real test
transcripts only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from augment.prompts import STYLE_LABEL
from augment.synthesize import wanted
from detect import cv
from detect.records import Corpus, Label, Source, Transcript
from eval.config import CONTROLS, BenchmarkConfig
from eval.results import Group

logger = logging.getLogger(__name__)

Short = list[tuple[str, int, int]]  # (style, available, wanted) for each style that fell short


def pool_of(group: Group, condition: str) -> Sequence[Transcript]:
    """What a condition draws its extras from: passing records, or the reserve for the controls."""
    if condition in CONTROLS:
        return group.reserve
    synthetic = group.synthetic.get(condition)
    return synthetic.kept if synthetic else ()


def draw_extras(train: Corpus, pool: Sequence[Transcript], condition: str,
                ratio: float) -> tuple[list[Transcript], Short]:
    """The first ratio x n_real records per class of the pool, and the styles that fell short."""
    if condition == "none":
        return [], []
    control = condition in CONTROLS
    out: list[Transcript] = []
    short: Short = []
    for style, n in wanted(train, ratio).items():
        of_style = [t for t in pool if t.label == STYLE_LABEL[style]]
        if len(of_style) < n:
            short.append((style, len(of_style), n))
        out += [_as_control(t, condition) for t in of_style[:n]] if control else of_style[:n]
    return out, short


def _as_control(transcript: Transcript, condition: str) -> Transcript:
    """A reserve transcript as the control adds it; `flipped` swaps its label (and id, to stay unique)."""
    update: dict[str, Any] = {"source": Source(kind="real", condition=condition, parent_ids=(transcript.id,))}
    if condition == "flipped":
        update |= {"id": f"{transcript.id}~flipped",
                   "label": Label.HC if transcript.label == Label.AD else Label.AD}
    return transcript.model_copy(update=update)


def score_cell(config: BenchmarkConfig, corpus: Corpus, train: Corpus, pool: Sequence[Transcript], classifier: str,
               condition: str, ratio: float, fold: cv.Fold) -> tuple[dict[str, Any], pd.DataFrame, Short]:
    """Unit of work: one classifier cell. Returns its score row, its out-of-fold predictions and
    the styles whose extras fell short; it writes nothing (the driver keeps the state files)."""
    extras, short = draw_extras(train, pool, condition, ratio)
    result = cv.evaluate_folds(corpus, [fold], classifier, config.classifier_options.get(classifier),
                               extra_train=lambda _fold_train: extras)
    row = result.rows[0].as_dict()
    n_wanted = 0 if condition == "none" else sum(wanted(train, ratio).values())
    keys = {"classifier": classifier, "condition": condition, "ratio": ratio}
    predictions = result.predictions_frame().assign(**keys, config_digest=config.digest())
    return {**keys, **row, "n_wanted": n_wanted}, predictions, short


def warn_short(shortfalls: Sequence[tuple[str, str, float, Short]]) -> None:
    """Once per group, condition, ratio and style, not once per seed and fold: (group key,
    condition, ratio, what fell short) of each scored cell."""
    said = dict.fromkeys((key, condition, ratio, *s) for key, condition, ratio, short in shortfalls for s in short)
    for key, condition, ratio, style, have, n in said:
        what = "reserve transcripts are" if condition in CONTROLS else "records pass the filters"
        logger.warning("group %s %s x%g: %d %s %s, %d wanted", key, condition, ratio, have, style, what, n)
