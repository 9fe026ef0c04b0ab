"""How good is the synthetic data, apart from what it does to detection?

Per condition x style, :func:`quality_table` reports

- **fidelity**: the distance of each marker's synthetic mean from the real class's mean,
  in real standard deviations (``d_<marker>``);
- **diversity**: distinct-n (:func:`distinct_n`) and the mean trigram Jaccard of random
  pairs (:func:`self_similarity`; 1 means copies);
- **filters**: records, how many passed, how many the privacy filter rejected;
- **utility**: TSTR F1 (:func:`tstr_f1`): a TF-IDF detector trained on synthetic text only
  and tested on each fold's real test speakers.

The marker frame it returns beside the table (real and synthetic rows, a ``group`` column)
feeds the report's marker-distribution plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from augment.prompts import STYLE_LABEL
from detect.markers import MarkerExtractor
from detect.records import Corpus

if TYPE_CHECKING:
    from eval.benchmark import Group

QUALITY_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate", "mean_utterance_length")


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams over the texts (1: no n-gram repeats).

    >>> distinct_n(["the boy the boy", "a girl"], 2)
    0.75
    """
    grams = [tuple(words[i:i + n]) for words in (t.lower().split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def self_similarity(texts: Sequence[str], pairs: int = 200, seed: int = 0) -> float:
    """Mean Jaccard similarity of word-trigram sets over random pairs (1 = copies)."""
    if len(texts) < 2:
        return float("nan")
    sets = [{tuple(w[i:i + 3]) for i in range(len(w) - 2)} for w in (t.lower().split() for t in texts)]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(pairs):
        a, b = rng.choice(len(sets), size=2, replace=False)
        union = sets[a] | sets[b]
        scores.append(len(sets[a] & sets[b]) / len(union) if union else 1.0)
    return float(np.mean(scores))


def tstr_f1(corpus: Corpus, groups: Mapping[str, Group], condition: str) -> float:
    """Train on synthetic only (TF-IDF), test on the real test speakers of each fold; mean F1."""
    from detect.classifiers import make_detector
    from detect.metrics import binary_metrics

    scores = []
    for group in groups.values():
        synthetic = group.synthetic.get(condition, [])
        if len({t.label for t in synthetic}) < 2:
            continue
        for fold in group.folds:
            test = corpus.by_speakers(fold.test_speakers)
            detector = make_detector("tfidf", seed=fold.seed).fit(synthetic)
            scores.append(binary_metrics(test.y(), detector.p_ad(test))["f1"])
    return float(np.mean(scores)) if scores else float("nan")


def quality_table(corpus: Corpus, groups: Mapping[str, Group], conditions: Sequence[str],
                  extractor: MarkerExtractor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per condition x style: marker distance to real, diversity, filter rejections, TSTR F1.

    Returns the table and the marker frame (real and synthetic rows, labelled by ``group``).
    """
    real = extractor.transform(list(corpus))
    real["group"] = [f"real {t.label.value}" for t in corpus]
    spread = real[list(QUALITY_MARKERS)].std().replace(0, 1)
    rows, marker_frames = [], [real]
    for condition in (c for c in conditions if c != "none"):
        all_records = [r for g in groups.values() for r in g.records.get(condition, [])]
        if not all_records:
            continue
        tstr = tstr_f1(corpus, groups, condition)
        for style, label in STYLE_LABEL.items():
            records = [r for r in all_records if r.style == style]
            passed = [t for g in groups.values() for t in g.synthetic.get(condition, []) if t.label == label]
            if not records:
                continue
            frame = pd.DataFrame([r.markers for r in records if r.markers])
            frame["group"] = f"{condition} {label.value}"
            marker_frames.append(frame)
            same = real[real.group == f"real {label.value}"]
            row = {"condition": condition, "style": label.value, "records": len(records), "passed": len(passed),
                   "privacy_rejected": sum(1 for r in records if "privacy" in r.verdicts and not r.verdicts["privacy"].passed)}
            for marker in QUALITY_MARKERS:
                if marker in frame:
                    row[f"d_{marker}"] = abs(frame[marker].mean() - same[marker].mean()) / spread[marker]
            texts = [r.text for r in records]
            row.update({"distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2),
                        "self_similarity": self_similarity(texts), "tstr_f1": tstr})
            rows.append(row)
    return pd.DataFrame(rows), pd.concat(marker_frames, ignore_index=True)
