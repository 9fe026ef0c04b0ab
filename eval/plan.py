"""The benchmark's plan: folds by speaker, the training groups they share, the reserve, the cells.

Folds that share the same training speakers (the ADReSS split over seeds) share one *group*:
one set of generators and synthetic data. With ``protocol.reserve``, a seeded, stratified share
of each fold's training speakers is held back: everything (generators included) trains on the
rest, and the controls draw on the reserve.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from detect import cv
from detect.hashing import digest
from detect.readers import ReadReport
from detect.records import Corpus, Transcript
from eval.config import BenchmarkConfig
from eval.results import BenchmarkError, Group


class Cell(NamedTuple):
    """One classifier trained and tested on one fold, with one condition at one ratio."""

    classifier: str
    condition: str
    ratio: float
    fold: cv.Fold

    @property
    def key(self) -> tuple[str, str, float, int, int]:
        """Its row's key in scores.csv (:data:`eval.state.SCORE_KEYS`)."""
        return self.classifier, self.condition, float(self.ratio), self.fold.seed, self.fold.fold

    @property
    def group(self) -> str:
        """The key of its fold's training group."""
        return group_key(self.fold.train_speakers)


def group_key(train_speakers) -> str:
    return digest("\n".join(sorted(train_speakers)), 10)


def plan(config: BenchmarkConfig, read: ReadReport | None = None) -> tuple[Corpus, list[cv.Fold], dict[str, Group]]:
    """Folds and their training groups. With ``protocol.reserve``, each fold trains on its base
    speakers only; the reserve is kept on the group for the `real` and `flipped` controls."""
    corpus = cv.evaluable(config.reading.load(config.corpus, read)[0])
    seeds = list(range(config.protocol.seed, config.protocol.seed + config.protocol.repeats))
    protocol = "adress" if config.protocol.split == "adress" else "kfold"
    split = [(fold, *split_reserve(corpus, fold.train_speakers, config.protocol.reserve, config.protocol.seed))
             for fold in cv.make_folds(corpus, protocol=protocol, folds=config.protocol.folds, seeds=seeds)]
    members = [(group_key(base), dataclasses.replace(fold, train_speakers=base), reserve)
               for fold, base, reserve in split]
    groups = {key: _group(corpus, key, [(fold, reserve) for k, fold, reserve in members if k == key],
                          config.protocol.seed)
              for key in dict.fromkeys(key for key, _, _ in members)}
    return corpus, [fold for _, fold, _ in members], groups


def _group(corpus: Corpus, key: str, members: list[tuple[cv.Fold, tuple[str, ...]]], seed: int) -> Group:
    """A group of folds with the same base speakers (and so the same reserve)."""
    first, reserve = members[0]
    return Group(key, corpus.by_speakers(first.train_speakers), tuple(fold for fold, _ in members),
                 reserve=_shuffled(corpus.by_speakers(reserve), seed))


def split_reserve(corpus: Corpus, speakers: tuple[str, ...], share: float,
                  seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(base, reserve): ``share`` of the speakers, stratified by label, held back.

    Seeded by the protocol seed alone, so folds with the same training speakers (the ADReSS
    split over seeds) keep one base, and one set of generators.
    """
    if share == 0:
        return speakers, ()
    from sklearn.model_selection import train_test_split

    labels = corpus.speaker_labels()
    ordered = sorted(speakers)
    try:
        base, reserve = train_test_split(ordered, test_size=share, random_state=seed,
                                         stratify=[labels[s].value for s in ordered])
    except ValueError as error:  # a class too small to split, or a share that leaves one side empty
        counts = ", ".join(f"{label.value} {sum(labels[s] == label for s in ordered)}" for label in sorted(
            {labels[s] for s in ordered}, key=lambda label: label.value))
        raise BenchmarkError(f"protocol.reserve {share}: cannot hold back a stratified share of these {len(ordered)} "
                             f"training speakers ({counts}): {error}; lower protocol.reserve (0: no reserve, no "
                             "controls) or use more speakers") from None
    return tuple(sorted(base)), tuple(sorted(reserve))


def _shuffled(corpus: Corpus, seed: int) -> tuple[Transcript, ...]:
    """A fixed random order, so the controls' ratios take nested, unsorted subsets."""
    order = np.random.default_rng(seed).permutation(len(corpus))
    return tuple(corpus[int(i)] for i in order)


def cells(config: BenchmarkConfig, folds: list[cv.Fold]) -> list[Cell]:
    """Every cell, in table order: classifier, condition, ratio (`none` at ratio 0), fold."""
    return [Cell(classifier, condition, ratio, fold)
            for classifier in config.classifiers
            for condition in config.conditions
            for ratio in ([0.0] if condition == "none" else config.ratios)
            for fold in folds]
