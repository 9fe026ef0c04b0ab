"""The benchmark's shared types: a training group and what it produced, the run's result, its error.

Every stage of :mod:`eval.benchmark` hands these on; none of them imports a stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from augment.synthesize import Synthetic, TrainingSet
from detect import cv
from detect.errors import UserError
from detect.records import Corpus, Transcript


class BenchmarkError(UserError):
    """The benchmark cannot go on as configured."""


@dataclass(frozen=True)
class Group:
    """Folds that share one training set, and so one set of generators and synthetic data.

    :func:`eval.plan.plan` makes it; the stages after it return copies with what they added.
    """

    key: str
    train: Corpus
    folds: tuple[cv.Fold, ...]
    reserve: tuple[Transcript, ...] = ()  # held-back real transcripts (cells draw from them per repeat)
    adapters: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)  # stage -> unit -> adapter folder
    synthetic: Mapping[str, Synthetic] = field(default_factory=dict)  # condition -> its synthetic data

    def training_set(self) -> TrainingSet:
        return TrainingSet(self.key, self.train, self.adapters)


@dataclass(frozen=True)
class BenchmarkResult:
    scores: pd.DataFrame
    table: pd.DataFrame
    quality: pd.DataFrame
    run_id: str | None
    report: Path
    timings: dict[str, float]
