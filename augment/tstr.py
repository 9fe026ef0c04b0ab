"""Utility of synthetic data: train on synthetic, test on real (TSTR) against train on real, test on
real (TRTR), on the same real test speakers; and which real splits and reference a report uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from augment.quality_results import TrainTest
from detect.records import Label, Transcript

UTILITY_DETECTORS: tuple[str, ...] = ("tfidf", "markers")


@dataclass
class Split:
    """One real train/test split, and the synthetic training data that stands in for ``train``."""

    train: Sequence[Transcript]
    test: Sequence[Transcript]
    synthetic: Sequence[Transcript]


def train_test(
    splits: Sequence[Split], detectors: Sequence[str] = UTILITY_DETECTORS, seed: int = 0, trtr_cache: dict | None = None
) -> list[TrainTest]:
    """TSTR and TRTR F1 per detector, each the mean over the splits whose synthetic data has both classes.

    ``trtr_cache``: TRTR F1 by (detector, train ids, test ids), shared across generators, which
    are tested on the same real splits (a benchmark's conditions)."""
    from detect.classifiers import make_detector
    from detect.metrics import binary_metrics

    trtr_cache = {} if trtr_cache is None else trtr_cache

    usable = [s for s in splits if {t.label for t in s.synthetic} >= {Label.AD, Label.HC} and len(s.test)]
    out = []
    for name in detectors:
        tstr, trtr = [], []
        for split in usable:
            y = [1 if t.label == Label.AD else 0 for t in split.test]
            synthetic_detector = make_detector(name, seed=seed).fit(list(split.synthetic))
            tstr.append(binary_metrics(y, synthetic_detector.p_ad(list(split.test)))["f1"])
            key = (name, tuple(t.id for t in split.train), tuple(t.id for t in split.test))
            if key not in trtr_cache:
                real_detector = make_detector(name, seed=seed).fit(list(split.train))
                trtr_cache[key] = binary_metrics(y, real_detector.p_ad(list(split.test)))["f1"]
            trtr.append(trtr_cache[key])
        a = float(np.mean(tstr)) if tstr else float("nan")
        b = float(np.mean(trtr)) if trtr else float("nan")
        out.append(TrainTest(detector=name, tstr_f1=a, trtr_f1=b, ratio=a / b if b else float("nan"), splits=len(tstr)))
    return out


def evaluation_splits(corpus: Sequence[Transcript], *, folds: int = 5, seed: int = 0) -> tuple[list[Split], str]:
    """The corpus's own test split when it has one with both classes, else speaker-grouped folds."""
    from detect import cv
    from detect.records import Corpus

    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    train, test = corpus.by_split("train"), corpus.by_split("test")
    if {t.label for t in test} >= {Label.AD, Label.HC} and {t.label for t in train} >= {Label.AD, Label.HC}:
        return [Split(list(train), list(test), [])], f"the corpus test split ({len(test.speakers())} speakers)"
    corpus = cv.evaluable(corpus)
    made = cv.speaker_folds(corpus, n_splits=folds, seed=seed)
    return (
        [
            Split(list(corpus.by_speakers(f.train_speakers)), list(corpus.by_speakers(f.test_speakers)), [])
            for f in made
        ],
        f"{folds} speaker-grouped folds of the corpus",
    )


def real_reference(corpus: Sequence[Transcript]) -> list[Transcript]:
    """The real transcripts a report compares with: the training split when there is one."""
    train = [t for t in corpus if t.split == "train" and t.label is not None]
    return train if {t.label for t in train} >= {Label.AD, Label.HC} else [t for t in corpus if t.label is not None]
