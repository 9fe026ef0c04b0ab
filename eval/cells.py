"""A classifier cell: what it adds to its fold's real training set, and its score.

A cell of condition ``c`` at ratio ``r`` trains on the fold's real training transcripts plus
``r`` x n_real records per class drawn from its group's pool: the passing synthetic records of
``c`` (``protocol.pool`` x what the largest ratio needs), or for the controls the group's reserve
(`real` as labelled, `flipped` the same transcripts with the other label). The draw is a seeded
permutation of each class's pool, one per repeat and fold (:func:`draw_order`), whose first
records a ratio takes: a repeat's sets are nested across ratios, each repeat draws a different
subset, and a rerun draws the same. It is tested on the fold's real test transcripts only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from augment.prompts import STYLE_LABEL
from augment.synthesize import wanted
from detect import cv
from detect.records import Corpus, Label, Source, Transcript
from eval.config import CONTROLS, BenchmarkConfig
from eval.plan import WHOLE
from eval.results import Group

logger = logging.getLogger(__name__)

Short = list[tuple[str, int, int]]  # (style, available, wanted) for each style that fell short


def pool_of(group: Group, condition: str) -> Sequence[Transcript]:
    """What a condition draws its extras from: passing records, or the reserve for the controls."""
    if condition in CONTROLS:
        return group.reserve
    synthetic = group.synthetic.get(condition)
    return synthetic.kept if synthetic else ()


# Keeps the draws' random stream apart from the classifiers' seeds (fold.seed) and the plan's.
_DRAW_STREAM = 23


def draw_order(fold: cv.Fold, n: int) -> np.ndarray:
    """The order in which a repeat's cells of this fold take the ``n`` records of a pool: a
    permutation seeded by the fold's seed (``protocol.seed`` + the repeat) and its number, the
    same for every condition, ratio and training size (so `real` and `flipped` add the same
    transcripts, and ratios nest)."""
    return np.random.default_rng([_DRAW_STREAM, fold.seed, fold.fold]).permutation(n)


def draw_extras(
    train: Corpus, pool: Sequence[Transcript], condition: str, ratio: float, fold: cv.Fold
) -> tuple[list[Transcript], Short]:
    """ratio x n_real records per class drawn from the pool for this fold and repeat, and the styles
    that fell short."""
    if condition == "none":
        return [], []
    control = condition in CONTROLS
    out: list[Transcript] = []
    short: Short = []
    for style, n in wanted(train, ratio).items():
        of_style = [t for t in pool if t.label == STYLE_LABEL[style]]
        if len(of_style) < n:
            short.append((style, len(of_style), n))
        drawn = [of_style[int(i)] for i in draw_order(fold, len(of_style))[:n]]
        out += [_as_control(t, condition) for t in drawn] if control else drawn
    return out, short


def _as_control(transcript: Transcript, condition: str) -> Transcript:
    """A reserve transcript as the control adds it; `flipped` swaps its label (and id, to stay unique)."""
    update: dict[str, Any] = {"source": Source(kind="real", condition=condition, parent_ids=(transcript.id,))}
    if condition == "flipped":
        update |= {"id": f"{transcript.id}~flipped", "label": Label.HC if transcript.label == Label.AD else Label.AD}
    return transcript.model_copy(update=update)


def score_cell(
    config: BenchmarkConfig,
    corpus: Corpus,
    train: Corpus,
    pool: Sequence[Transcript],
    classifier: str,
    condition: str,
    ratio: float,
    fold: cv.Fold,
) -> tuple[dict[str, Any], pd.DataFrame, Short]:
    """Unit of work: one classifier cell. Returns its score row, its out-of-fold predictions and
    the styles whose extras fell short; it writes nothing (the driver keeps the state files)."""
    extras, short = draw_extras(train, pool, condition, ratio, fold)
    result = cv.evaluate_folds(
        corpus,
        [fold],
        classifier,
        config.classifier_options.get(classifier),
        extra_train=lambda _fold_train: extras,
        threshold=config.protocol.threshold,
    )
    row = result.rows[0].as_dict()
    n_wanted = 0 if condition == "none" else sum(wanted(train, ratio).values())
    keys = {"classifier": classifier, "condition": condition, "ratio": ratio, "size": getattr(fold, "size", WHOLE)}
    predictions = result.predictions_frame().assign(**keys, config_digest=config.digest())
    return {**keys, **row, "n_wanted": n_wanted}, predictions, short


def warn_short(shortfalls: Sequence[tuple[str, str, float, Short]]) -> None:
    """Once per group, condition, ratio and style, not once per seed and fold: (group key,
    condition, ratio, what fell short) of each scored cell."""
    said = dict.fromkeys((key, condition, ratio, *s) for key, condition, ratio, short in shortfalls for s in short)
    for key, condition, ratio, style, have, n in said:
        what = "reserve transcripts are" if condition in CONTROLS else "records pass the filters"
        logger.warning("group %s %s x%g: %d %s %s, %d wanted", key, condition, ratio, have, style, what, n)
