"""Synthetic-data quality: diversity measures on hand-built texts, TSTR on the simulated cohort."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from detect import cv
from detect.readers import load_corpus
from eval.quality import distinct_n, self_similarity, tstr_f1

TEXTS = ["the boy takes a cookie from the jar", "the mother dries a plate at the sink",
         "water runs over the sink onto the floor"]


def test_distinct_n_counts_repeated_ngrams():
    assert distinct_n(TEXTS, 1) < 1.0  # "the", "sink" repeat
    assert distinct_n(["a b a b a b"], 2) == pytest.approx(2 / 5)
    assert distinct_n(TEXTS * 2, 2) == pytest.approx(distinct_n(TEXTS, 2) / 2)
    assert math.isnan(distinct_n(["one"], 2))


def test_self_similarity_is_one_for_copies_and_low_for_different_texts():
    assert self_similarity([TEXTS[0]] * 4) == 1.0
    assert self_similarity(TEXTS) < 0.2
    assert self_similarity(TEXTS, seed=1) == self_similarity(TEXTS, seed=1)
    assert math.isnan(self_similarity(TEXTS[:1]))


def test_tstr_trains_on_the_synthetic_set_and_tests_on_each_fold():
    corpus = cv.evaluable(load_corpus())
    folds = cv.make_folds(corpus, folds=2, seeds=[0])
    # Stand-in "synthetic" data: the real transcripts of the other fold, which must transfer well.
    groups = {f"g{f.fold}": SimpleNamespace(folds=[f], synthetic={"copy": list(corpus.by_speakers(f.train_speakers))})
              for f in folds}
    assert tstr_f1(corpus, groups, "copy") > 0.6
    one_class = {"g": SimpleNamespace(folds=folds, synthetic={"copy": list(corpus.by_label(corpus[0].label))})}
    assert math.isnan(tstr_f1(corpus, one_class, "copy"))
