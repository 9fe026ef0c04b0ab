"""Realism of wording: how much of a text the prompts' scene texts hold (*scene reuse*), and how far
a set of texts' vocabulary lies from a reference set's (*vocabulary divergence*), with the range real
samples show by chance. Measured by :mod:`augment.quality` against the real class."""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from augment.filters import content_words, ngrams, words
from augment.prompts import SCENE, SCENE_KEYWORDS
from detect.diversity import REAL_SAMPLES

SCENE_NGRAM = 4


@functools.cache
def _scene_ngrams(n: int) -> frozenset[tuple[str, ...]]:
    """Word n-grams of every scene text a prompt can show: the prose, and each keyword on its own
    (a shuffled list has no fixed neighbours)."""
    return frozenset(gram for text in (SCENE, *SCENE_KEYWORDS) for gram in ngrams(content_words(text), n))


def scene_reuse(text: str, n: int = SCENE_NGRAM) -> float:
    """Share of the text's word ``n``-grams (fillers out, repeats collapsed, as the privacy filter reads)
    that the scene texts of the prompts hold; NaN for a text shorter than ``n`` words.

    >>> scene_reuse("uh the water overflows onto the floor and the boy")
    0.5
    """
    grams = ngrams(content_words(text), n)
    return sum(g in _scene_ngrams(n) for g in grams) / len(grams) if grams else float("nan")


def _unigrams(texts: Sequence[str]) -> Counter[str]:
    return Counter(w for t in texts for w in words(t))


def vocabulary_divergence(texts: Sequence[str], reference: Sequence[str]) -> float:
    """Jensen-Shannon divergence, in bits (0: the same distribution, 1: no word shared), of the word
    unigram distribution of ``texts`` against that of ``reference``; NaN when either has no words.

    >>> vocabulary_divergence(["the boy"], ["the boy"]), vocabulary_divergence(["a b"], ["c d"])
    (0.0, 1.0)
    """
    p, q = _unigrams(texts), _unigrams(reference)
    n_p, n_q = sum(p.values()), sum(q.values())
    if not n_p or not n_q:
        return float("nan")
    total = 0.0
    for w in p.keys() | q.keys():
        a, b = p[w] / n_p, q[w] / n_q
        m = (a + b) / 2
        total += (a * math.log2(a / m) if a else 0.0) + (b * math.log2(b / m) if b else 0.0)
    return max(0.0, total / 2)


def real_vocabulary_divergence(
    real: Sequence[str], size: int, *, samples: int = REAL_SAMPLES, seed: int = 0
) -> tuple[float, float]:
    """(min, max) divergence of ``size`` random real texts against the rest of their class: how far a real
    sample of that size lies from its class by chance (the divergence grows as samples shrink).
    NaN when the class has too few texts to hold out ``size`` and keep as many."""
    size = min(size, len(real) // 2)
    if size < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        chosen = set(rng.choice(len(real), size=size, replace=False).tolist())
        values.append(
            vocabulary_divergence([real[i] for i in chosen], [t for i, t in enumerate(real) if i not in chosen])
        )
    return min(values), max(values)
