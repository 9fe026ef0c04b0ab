"""Lexical diversity of a set of texts: distinct-n, self-similarity, and the range a corpus shows.

Both measures depend on how many texts there are (distinct-n falls as texts are added), so a
set is only comparable with sets of its own size: :func:`real_range` gives the range a corpus
shows over random subsets of a given size. They live in ``detect`` because describing a corpus
(:mod:`detect.corpus_stats`) needs them as much as judging synthetic text does
(:mod:`augment.quality`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

REAL_SAMPLES = 20  # random real samples behind the real range of distinct-2 and self-similarity


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams over the texts (1: no n-gram repeats).

    >>> distinct_n(["the boy the boy", "a girl"], 2)
    0.75
    """
    grams = [tuple(words[i : i + n]) for words in (t.lower().split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def self_similarity(texts: Sequence[str], pairs: int = 200, seed: int = 0) -> float:
    """Mean Jaccard similarity of word-trigram sets over random pairs (1 = copies)."""
    if len(texts) < 2:
        return float("nan")
    sets = [{tuple(w[i : i + 3]) for i in range(len(w) - 2)} for w in (t.lower().split() for t in texts)]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(pairs):
        a, b = rng.choice(len(sets), size=2, replace=False)
        union = sets[a] | sets[b]
        scores.append(len(sets[a] & sets[b]) / len(union) if union else 1.0)
    return float(np.mean(scores))


def real_range(
    texts: Sequence[str],
    size: int,
    measure: Callable[[list[str]], float],
    *,
    samples: int = REAL_SAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """(min, max) of ``measure`` over ``samples`` random subsets of ``size`` real texts.

    Distinct-n falls as texts are added, so a synthetic set is only comparable with real
    sets of its own size; when ``size`` covers every real text the range is one value.
    """
    size = min(size, len(texts))
    if size < 1:
        return float("nan"), float("nan")
    if size == len(texts):
        value = measure(list(texts))
        return value, value
    rng = np.random.default_rng(seed)
    values = [measure([texts[i] for i in rng.choice(len(texts), size=size, replace=False)]) for _ in range(samples)]
    finite = [v for v in values if not math.isnan(v)]
    return (min(finite), max(finite)) if finite else (float("nan"), float("nan"))
