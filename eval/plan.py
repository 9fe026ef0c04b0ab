"""The benchmark's plan: folds by speaker, the training groups they share, the reserve, the cells.

Folds that share the same training speakers (the ADReSS split over seeds) share one *group*:
one set of generators and synthetic data. With ``protocol.reserve``, a seeded, stratified share
of each fold's training speakers is held back: everything (generators included) trains on the
rest, the *base*, and the controls draw on the reserve. With ``protocol.sizes`` (the low-resource
protocol), each fold is also planned at each size: its base cut to that many speakers (seeded,
stratified, nested: a size's speakers are among every larger size's), a group of its own with
generators trained on the cut alone, and the same reserve for the controls.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from detect import cv
from detect.hashing import digest
from detect.readers import ReadReport
from detect.records import Corpus, Label
from eval.config import BenchmarkConfig
from eval.results import BenchmarkError, Group

logger = logging.getLogger(__name__)


WHOLE = 0  # the size of a fold planned on its whole base
_CUT_STREAM = 16  # keeps the cuts' random stream apart from the reserve's and the draws'


@dataclass(frozen=True)
class SizedFold(cv.Fold):
    """A fold whose training speakers are its base cut to ``size`` speakers (:data:`WHOLE`: uncut)."""

    size: int = WHOLE


class Cell(NamedTuple):
    """One classifier trained and tested on one fold, with one condition at one ratio."""

    classifier: str
    condition: str
    ratio: float
    fold: cv.Fold

    @property
    def size(self) -> int:
        return getattr(self.fold, "size", WHOLE)

    @property
    def key(self) -> tuple[str, str, float, int, int, int]:
        """Its row's key in scores.csv (:data:`eval.state.SCORE_KEYS`)."""
        return self.classifier, self.condition, float(self.ratio), self.size, self.fold.seed, self.fold.fold

    @property
    def group(self) -> str:
        """The key of its fold's training group."""
        return group_key(self.fold.train_speakers)


def group_key(train_speakers) -> str:
    return digest("\n".join(sorted(train_speakers)), 10)


def plan(config: BenchmarkConfig, read: ReadReport | None = None) -> tuple[Corpus, list[SizedFold], dict[str, Group]]:
    """Folds (each at every size of ``protocol.sizes``, then whole) and their training groups.
    With ``protocol.reserve``, each fold trains on its base speakers only; the reserve is kept on
    the group for the `real` and `flipped` controls."""
    p = config.protocol
    corpus = cv.evaluable(config.reading.load(config.corpus, read)[0])
    seeds = list(range(p.seed, p.seed + p.repeats))
    protocol = "adress" if p.split == "adress" else "kfold"
    split = [
        (fold, *split_reserve(corpus, fold.train_speakers, p.reserve, p.seed))
        for fold in cv.make_folds(corpus, protocol=protocol, folds=p.folds, seeds=seeds)
    ]
    sizes = _sizes_below(p.sizes, min(len(base) for _, base, _ in split))
    members = []
    for fold, base, reserve in split:
        for size in (*sizes, WHOLE):
            cut = cut_base(corpus, base, size, p.seed) if size != WHOLE else base
            members.append((group_key(cut), SizedFold(fold.seed, fold.fold, cut, fold.test_speakers, size), reserve))
    members.sort(key=lambda member: size_order(member[1].size))
    groups = {
        key: _group(corpus, key, [(fold, reserve) for k, fold, reserve in members if k == key])
        for key in dict.fromkeys(key for key, _, _ in members)
    }
    return corpus, [fold for _, fold, _ in members], groups


def _sizes_below(sizes: tuple[int, ...], smallest_base: int) -> tuple[int, ...]:
    """The sizes that cut every fold's base; the others are the whole base already (a profile's sizes
    suit corpora of several sizes), said once."""
    kept = tuple(size for size in sizes if size < smallest_base)
    if len(kept) < len(sizes):
        logger.warning(
            "protocol.sizes: %s left out: not below the smallest base of %d training speakers, which is run whole",
            ", ".join(str(s) for s in sizes if s not in kept),
            smallest_base,
        )
    return kept


def size_order(size: int) -> float:
    """Sizes sort smallest first, the whole base last."""
    return np.inf if size == WHOLE else size


def _group(corpus: Corpus, key: str, members: list[tuple[cv.Fold, tuple[str, ...]]]) -> Group:
    """A group of folds with the same base speakers (and so the same reserve)."""
    first, reserve = members[0]
    return Group(
        key,
        corpus.by_speakers(first.train_speakers),
        tuple(fold for fold, _ in members),
        reserve=tuple(corpus.by_speakers(reserve)),
    )


def _labels(corpus: Corpus) -> dict[str, Label]:
    """Each labelled speaker's label: a stratified cut has no place for a speaker without one."""
    return {s: label for s, label in corpus.speaker_labels().items() if label is not None}


def cut_base(corpus: Corpus, base: tuple[str, ...], size: int, seed: int) -> tuple[str, ...]:
    """``size`` of the base speakers, each class in its share of the base (at least 2 each), by a
    permutation of each class seeded by the protocol seed alone: the folds of the fixed split
    keep one cut per size (one set of generators), and smaller sizes take subsets of larger ones."""
    labels = _labels(corpus)
    by_class = {
        label: [s for s in sorted(base) if labels[s] == label]
        for label in sorted({labels[s] for s in base}, key=lambda label: label.value)
    }
    rng = np.random.default_rng([_CUT_STREAM, seed])
    kept: list[str] = []
    for i, speakers in enumerate(by_class.values()):
        share = len(speakers) / len(base)
        # The classes' counts add up to size: the first class rounds, the last takes the rest.
        n = round(size * share) if i < len(by_class) - 1 else size - len(kept)
        n = min(len(speakers), max(2, n))
        kept += [speakers[int(j)] for j in rng.permutation(len(speakers))[:n]]
    return tuple(sorted(kept))


def split_reserve(
    corpus: Corpus, speakers: tuple[str, ...], share: float, seed: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(base, reserve): ``share`` of the speakers, stratified by label, held back.

    Seeded by the protocol seed alone, so folds with the same training speakers (the ADReSS
    split over seeds) keep one base, and one set of generators.
    """
    if share == 0:
        return speakers, ()
    from sklearn.model_selection import train_test_split

    labels = _labels(corpus)
    ordered = sorted(speakers)
    try:
        base, reserve = train_test_split(
            ordered, test_size=share, random_state=seed, stratify=[labels[s].value for s in ordered]
        )
    except ValueError as error:  # a class too small to split, or a share that leaves one side empty
        counts = ", ".join(
            f"{label.value} {sum(labels[s] == label for s in ordered)}"
            for label in sorted({labels[s] for s in ordered}, key=lambda label: label.value)
        )
        raise BenchmarkError(
            f"protocol.reserve {share}: cannot hold back a stratified share of these {len(ordered)} "
            f"training speakers ({counts}): {error}; lower protocol.reserve (0: no reserve, no "
            "controls) or use more speakers"
        ) from None
    return tuple(sorted(base)), tuple(sorted(reserve))


def cells(config: BenchmarkConfig, folds: Sequence[cv.Fold]) -> list[Cell]:
    """Every cell, in table order: classifier, condition, ratio (`none` at ratio 0), fold."""
    return [
        Cell(classifier, condition, ratio, fold)
        for classifier in config.classifiers
        for condition in config.conditions
        for ratio in (config.ratios_of(condition) or (0.0,))
        for fold in folds
    ]
