"""Benchmark: do K-fold intervals with a small training base cover what they claim, and see a real effect?

    .venv/bin/python -m bench intervals
    .venv/bin/python bench/bench_intervals.py --runs 400

Simulates the design where the corrected t failed on real data (issue 23: ``real x8 +0.142
[-0.851, +1.135]``): repeated K-fold (5 folds x 3 repeats) over 150 speakers with 90% of each
fold's training speakers held in reserve, so every classifier trains on a base of 12. The
learner is a ridge classifier on 3 informative and 8 noise features (P(AD) = sigmoid(1.5 x
score)); its base-only AUROC is about 0.70, like TF-IDF's on the simulated cohort. Three
comparisons against the base alone, each paired on the same folds:

* ``null``: the same learner on a twin set of equally informative features (true difference 0);
* ``real``: the base plus twice its size of reserve speakers, labelled (the positive control);
* ``flipped``: the same speakers with the wrong label (the negative control).

The controls' true differences are the mean over 2000 training sets of the design's size of
the difference on 5000 fresh speakers. Per interval method: coverage (the share of 95%
intervals holding the true difference), power (the share that exclude 0), mean width, and the
share reaching beyond what the metric can move. Methods: the corrected t with n_train = the
base (what the benchmark did), the corrected t with the fold's whole training set, the plain t
over cells, and the paired bootstrap of the out-of-fold predictions pooled per repeat (what it
does now, :func:`eval.stats.delta_over_speakers`).

Writes ``bench-results/bench_intervals.json`` and ``.md``. tests/eval/test_stats.py runs the
null on fewer runs.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn.model_selection import StratifiedKFold, train_test_split

from detect.metrics import summarize, weighted_metrics
from eval.stats import delta_over_speakers

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("f1", "auroc", "brier")
INFORMATIVE, NOISE, SEPARATION, RIDGE, SHARPNESS = 3, 8, 0.9, 1.0, 1.5


@dataclass(frozen=True)
class Design:
    speakers: int = 150
    folds: int = 5
    repeats: int = 3
    reserve: float = 0.9
    ratio: float = 2.0  # reserve speakers added per base speaker, per class (the controls)


def population(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, and a twin feature set as informative as the first (same severity, fresh noise)."""
    y = np.r_[np.ones(n - n // 2), np.zeros(n // 2)].astype(int)
    severity = SEPARATION * (2 * y - 1) + rng.normal(0, 1, n)
    noise = rng.normal(0, 1, (n, NOISE))
    features = [np.c_[np.ones(n), severity[:, None] + rng.normal(0, 1, (n, INFORMATIVE)), noise] for _ in range(2)]
    return features[0], y, features[1]


def fit(X: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Ridge weights for a stack of training sets: X (J, m, p), target (J, m) in {-1, 1} -> (J, p)."""
    gram = np.einsum("jmp,jmq->jpq", X, X) + RIDGE * np.eye(X.shape[-1])
    return np.linalg.solve(gram, np.einsum("jmp,jm->jp", X, target)[..., None])[..., 0]


def proba(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, p) x (J, p) -> (n, J) P(AD)."""
    return 1 / (1 + np.exp(-SHARPNESS * (X @ weights.T)))


def _population_metrics(p: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """F1, AUROC (rank form, no ties for continuous scores) and Brier of each column of p: (J,) each."""
    from scipy.stats import rankdata

    ad = y.astype(bool)[:, None]
    pred = p >= 0.5
    tp, fp, fn = (pred & ad).sum(0), (pred & ~ad).sum(0), (~pred & ad).sum(0)
    n_ad, n_hc = int(ad.sum()), int((~ad).sum())
    ranks = rankdata(p, axis=0)
    return {
        "f1": 2 * tp / np.maximum(2 * tp + fp + fn, 1),
        "auroc": (ranks[y == 1].sum(0) - n_ad * (n_ad + 1) / 2) / (n_ad * n_hc),
        "brier": ((p - y[:, None]) ** 2).mean(0),
    }


def true_difference(
    rng: np.random.Generator, design: Design, comparison: str, *, draws: int = 2000, test: int = 5000
) -> dict[str, float]:
    """E[metric(base + extras) - metric(base)] over training sets of the design's size, on fresh speakers."""
    if comparison == "null":
        return dict.fromkeys(METRICS, 0.0)
    train = design.speakers * (design.folds - 1) // design.folds
    half = round(train * (1 - design.reserve)) // 2  # base speakers per class
    extra = math.ceil(design.ratio * half)
    X, y, _ = population(rng, 2 * draws * (half + extra))
    ad, hc = rng.permutation(np.flatnonzero(y == 1)), rng.permutation(np.flatnonzero(y == 0))

    def take(ids: np.ndarray, start: int, k: int) -> np.ndarray:  # (draws, k) disjoint speakers
        return ids[start * draws : (start + k) * draws].reshape(draws, k)

    base = np.c_[take(ad, 0, half), take(hc, 0, half)]
    added = np.c_[take(ad, half, extra), take(hc, half, extra)]
    target = 2.0 * y - 1
    sign = -1.0 if comparison == "flipped" else 1.0
    weights = [
        fit(X[base], target[base]),
        fit(np.concatenate([X[base], X[added]], 1), np.c_[target[base], sign * target[added]]),
    ]
    Xt, yt, _ = population(rng, test)
    before, after = (_population_metrics(proba(Xt, w), yt) for w in weights)
    return {m: float(np.mean(after[m] - before[m])) for m in METRICS}


def design_run(rng: np.random.Generator, design: Design, comparison: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One simulated corpus under the design: per-cell scores and out-of-fold predictions of both arms.

    Frames in the benchmark's shape: scores (arm, seed, fold, n_train, n_test, n_fold_train and the
    metrics), predictions (arm, seed, fold, id, speaker_id, y_true, p_ad); arm 0 is the base alone.
    """
    X, y, twin = population(rng, design.speakers)
    target = 2.0 * y - 1
    cells, predictions = [], []
    for seed in range(design.repeats):
        split = StratifiedKFold(design.folds, shuffle=True, random_state=int(rng.integers(1 << 30)))
        for fold, (train, test) in enumerate(split.split(X, y)):
            base, reserve = train_test_split(
                train, test_size=design.reserve, stratify=y[train], random_state=int(rng.integers(1 << 30))
            )
            if comparison == "null":
                p = np.c_[
                    proba(X[test], fit(X[base][None], target[base][None])),
                    proba(twin[test], fit(twin[base][None], target[base][None])),
                ]
            else:
                added = np.concatenate(
                    [reserve[y[reserve] == c][: math.ceil(design.ratio * (y[base] == c).sum())] for c in (1, 0)]
                )
                sign = -1.0 if comparison == "flipped" else 1.0
                both = np.r_[base, added]
                arm = fit(X[both][None], np.r_[target[base], sign * target[added]][None])
                p = proba(X[test], np.r_[fit(X[base][None], target[base][None]), arm])
            for a in (0, 1):
                m = weighted_metrics(y[test], p[:, a], np.ones((1, test.size)), metrics=list(METRICS))
                cells.append(
                    {
                        "arm": a,
                        "seed": seed,
                        "fold": fold,
                        "n_test": test.size,
                        "n_train": base.size,
                        "n_fold_train": train.size,
                        **{k: float(v[0]) for k, v in m.items()},
                    }
                )
                ids = [f"s{i}" for i in test]
                predictions.append(
                    pd.DataFrame(
                        {
                            "arm": a,
                            "seed": seed,
                            "fold": fold,
                            "id": ids,
                            "speaker_id": ids,
                            "y_true": y[test],
                            "p_ad": p[:, a],
                        }
                    )
                )
    return pd.DataFrame(cells), pd.concat(predictions, ignore_index=True)


def intervals(
    cells: pd.DataFrame,
    predictions: pd.DataFrame,
    metric: str,
    *,
    resamples: int = 1000,
    seed: int = 0,
    methods: tuple[str, ...] | None = None,
) -> dict:
    """Every method's :class:`detect.metrics.MetricSummary` of the paired difference (arm 1 - arm 0)."""
    after, before = (cells[cells.arm == a].reset_index(drop=True) for a in (1, 0))
    d = after[metric] - before[metric]
    chosen = {
        "corrected t, n_train = base": lambda: summarize(
            d, test_fraction=float(np.mean(before.n_test / before.n_train))
        ),
        "corrected t, n_train = fold": lambda: summarize(
            d, test_fraction=float(np.mean(before.n_test / before.n_fold_train))
        ),
        "plain t": lambda: summarize(d),
        "pooled speaker bootstrap": lambda: delta_over_speakers(
            predictions[predictions.arm == 1], predictions[predictions.arm == 0], metric, resamples=resamples, seed=seed
        ),
    }
    return {name: make() for name, make in chosen.items() if methods is None or name in methods}


def main(
    runs: Annotated[int, typer.Option(help="Simulated corpora per comparison.")] = 200,
    seed: Annotated[int, typer.Option(help="Seeds the simulation.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for the JSON and Markdown results.")] = ROOT / "bench-results",
) -> None:
    """Coverage, power and width of each interval method, per comparison and metric."""
    rng = np.random.default_rng(seed)
    design = Design()
    start = time.perf_counter()
    rows = []
    out.mkdir(parents=True, exist_ok=True)
    for comparison in ("real", "null", "flipped"):
        truth = true_difference(rng, design, comparison)
        for run in range(runs):
            cells, predictions = design_run(rng, design, comparison)
            for metric in METRICS:
                for method, s in intervals(cells, predictions, metric, seed=run).items():
                    rows.append(
                        {
                            "comparison": comparison,
                            "metric": metric,
                            "method": method,
                            "truth": truth[metric],
                            "estimate": s.mean,
                            "covered": s.ci_low <= truth[metric] <= s.ci_high,
                            "detected": s.p < 0.05,
                            "width": s.ci_high - s.ci_low,
                            "beyond_range": s.ci_low < -1 or s.ci_high > 1,
                        }
                    )
        summary = (
            pd.DataFrame(rows)
            .groupby(["comparison", "metric", "method"], sort=False)
            .agg(
                truth=("truth", "first"),
                coverage=("covered", "mean"),
                power=("detected", "mean"),
                width=("width", "mean"),
                beyond_range=("beyond_range", "mean"),
            )
            .reset_index()
        )
        # written after each comparison: a long run that is stopped keeps what it finished
        result = {
            "design": asdict(design),
            "runs": runs,
            "seed": seed,
            "seconds": round(time.perf_counter() - start, 1),
            "rows": summary.round(4).to_dict("records"),
        }
        (out / "bench_intervals.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "bench_intervals.md").write_text(summary.to_markdown(index=False, floatfmt=".3f") + "\n")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    typer.run(main)
