"""A benchmark's state folder (``runs/<name>/``): what a resume finds done.

``scores.csv`` holds one row per scored cell and ``predictions.csv`` each cell's out-of-fold
P(AD), one row per test transcript, both with the config digest; ``config.json`` the config.
Only the driver writes them, a cell as it finishes, so an interrupted benchmark resumes where it
stopped; a folder of another config is refused before any work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eval.config import BenchmarkConfig
from eval.plan import WHOLE, Cell
from eval.results import BenchmarkError

SCORE_KEYS = ["classifier", "condition", "ratio", "size", "seed", "fold"]  # size: eval.plan.SizedFold's
SCORES = "scores.csv"  # a state folder's scored cells, one row each, with the config digest
PREDICTIONS = "predictions.csv"  # beside scores.csv: each cell's out-of-fold P(AD), one row per test transcript


def open_state(run_dir: Path, config: BenchmarkConfig) -> pd.DataFrame:
    """The cells a resume finds scored. The state folder of another config (a profile edited since,
    a new release's demo) is refused now, not after the generators have trained."""
    run_dir.mkdir(parents=True, exist_ok=True)
    scored = load_scores(run_dir / SCORES, config.digest())
    (run_dir / "config.json").write_text(json.dumps(config.as_dict(), indent=2) + "\n")
    return scored


def to_score(todo: Sequence[Cell], scored: pd.DataFrame) -> list[Cell]:
    """The cells not scored yet, in table order."""
    done = {tuple(r) for r in scored[SCORE_KEYS].astype({"ratio": float}).itertuples(index=False)}
    return [cell for cell in todo if cell.key not in done]


def record_cell(run_dir: Path, row: dict[str, Any], predictions: pd.DataFrame) -> None:
    """A finished cell into the state files: predictions first, so a cell with a score always has them."""
    path = run_dir / PREDICTIONS
    predictions.to_csv(path, mode="a", header=not path.exists(), index=False)
    scores_path = run_dir / SCORES
    pd.DataFrame([row]).to_csv(scores_path, mode="a", header=not scores_path.exists(), index=False)


def read_state(run_dir: Path, config_digest: str, todo: Sequence[Cell]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scored cell and its predictions, in the order of ``todo`` (the table's)."""
    order = {cell.key: i for i, cell in enumerate(todo)}
    return (
        in_cell_order(load_scores(run_dir / SCORES, config_digest), order),
        in_cell_order(load_predictions(run_dir / PREDICTIONS, config_digest), order),
    )


def load_predictions(path: Path, config_digest: str) -> pd.DataFrame:
    """Kept predictions of this config; a cell scored twice (killed between its two writes) keeps its last."""
    if not path.exists():
        return pd.DataFrame(columns=[*SCORE_KEYS, "id", "speaker_id", "y_true", "p_ad"])
    kept = _sized(pd.read_csv(path, dtype={"id": str, "speaker_id": str, "config_digest": str}))
    kept = kept[kept.config_digest == config_digest]  # also drops a line cut short: the digest comes last
    return kept.drop_duplicates([*SCORE_KEYS, "id"], keep="last")


def load_scores(path: Path, config_digest: str) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=SCORE_KEYS)
    # As text: a digest of only digits would otherwise come back as a number and match nothing.
    scores = _sized(pd.read_csv(path, dtype={"config_digest": str}))
    if "config_digest" in scores and set(scores.config_digest) != {config_digest}:
        raise BenchmarkError(
            f"{path}: scores from a different config; use another output_dir, or delete {path.parent} to start over"
        )
    return scores


def _sized(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows written before training sizes were kept are of the whole base."""
    return frame if "size" in frame else frame.assign(size=WHOLE)


def in_cell_order(frame: pd.DataFrame, order: dict[tuple, int]) -> pd.DataFrame:
    """Rows in the order of the cells, stable within a cell: the order the local executor writes
    them in; Ray writes them as they finish, and the table keeps the order it reads."""
    rank = [
        order.get(key, len(order))
        for key in frame[SCORE_KEYS].astype({"ratio": float}).itertuples(index=False, name=None)
    ]
    if all(a <= b for a, b in pairwise(rank)):
        return frame
    return frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
