"""Test helper: one benchmark cell's out-of-fold predictions, in the columns ``predictions.csv`` holds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def cell_predictions(
    y: np.ndarray,
    p: np.ndarray,
    *,
    classifier: str = "tfidf",
    condition: str = "none",
    ratio: float = 0.0,
    seed: int = 0,
    fold: int | np.ndarray = 0,
    speaker_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A row per test transcript, ids ``t0..``; each its own speaker unless ``speaker_ids`` says otherwise."""
    ids = [f"t{i}" for i in range(len(y))]
    return pd.DataFrame(
        {
            "classifier": classifier,
            "condition": condition,
            "ratio": ratio,
            "seed": seed,
            "fold": fold,
            "id": ids,
            "speaker_id": list(speaker_ids) if speaker_ids is not None else ids,
            "y_true": y,
            "p_ad": p,
        }
    )
