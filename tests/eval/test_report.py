"""What a reviewer sees first: forest plots that read at the size the UI shows them (no panel
for a classifier that cannot move), and the verdict as the run's description, within MLflow's
limit for it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from detect.metrics import binary_metrics
from eval.analysis import format_table, sentences, summary_table
from eval.forest import constant_classifiers, forest_figure, forest_plot
from eval.report import SIMULATED_NOTE, run_description
from tests.eval.frames import cell_predictions

ARMS = {("none", 0.0): 0.0, ("dpo", 0.5): 0.3, ("dpo", 1.0): -0.2, ("real", 1.0): 2.0, ("flipped", 1.0): -3.0}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """A fixed split, 40 test speakers and 2 seeds: TF-IDF moved by each arm's effect (logits), and the
    majority floor with its constant P(AD) (the training prior)."""
    rng = np.random.default_rng(0)
    n = 40
    y = (np.arange(n) % 2).astype(int)
    latent = 1.0 * (2 * y - 1) + rng.normal(0, 1, n)
    predictions, scores = [], []
    for (condition, ratio), effect in ARMS.items():
        for seed in range(2):
            tfidf = 1 / (1 + np.exp(-(latent + effect * (y - 0.5) + rng.normal(0, 0.3, n))))
            for classifier, p in (("majority", np.full(n, 0.55)), ("tfidf", tfidf)):
                predictions.append(
                    cell_predictions(y, p, classifier=classifier, condition=condition, ratio=ratio, seed=seed)
                )
                scores.append(
                    {
                        "classifier": classifier,
                        "condition": condition,
                        "ratio": ratio,
                        "seed": seed,
                        "fold": 0,
                        **binary_metrics(y, p),
                        "n_train": 60,
                        "n_test": n,
                        "n_extra": int(30 * ratio),
                        "n_wanted": int(30 * ratio),
                    }
                )
    return summary_table(pd.DataFrame(scores), protocol="adress", predictions=pd.concat(predictions), power=False)


def test_a_classifier_with_a_constant_p_ad_is_recognised(table):
    assert constant_classifiers(table) == ["majority"]
    assert constant_classifiers(table[table.classifier == "tfidf"]) == []


@pytest.mark.parametrize("statistic", ["f1", "brier"])
def test_the_forest_plot_has_a_row_per_condition_and_ratio_and_no_empty_panel(table, statistic, tmp_path):
    fig = forest_figure(table, statistic)
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left").split(":")[0] for ax in panels] == ["tfidf"]  # the majority has no panel
    [panel] = panels
    assert [t.get_text() for t in panel.get_yticklabels()] == [
        "dpo ×0.5",
        "dpo ×1",
        "real (+ control) ×1",
        "flipped (− control) ×1",
    ]
    assert "majority: constant P(AD) in every cell" in fig.get_supxlabel()
    image = imread(forest_plot(table, tmp_path / f"delta_{statistic}.png", statistic))
    assert image.shape[1] == 1000 and image.shape[0] < 1000  # one panel of four rows: read at its own size


def test_the_description_carries_the_table_the_findings_and_the_simulated_note(table):
    text = run_description("demo", table, simulated=True)
    assert text.startswith(f"**{SIMULATED_NOTE}**")
    header = "| classifier | condition | ratio | synthetic | F1 mean ± sd | ΔF1 [95% CI] p | ΔBrier [95% CI] p |"
    assert header in text
    shown = table[~((table.classifier == "majority") & (table.condition != "none"))]
    for line in sentences(shown):
        assert f"- {line}" in text
    assert "majority: constant P(AD) in every cell (the floor); every Δ is 0." in text
    assert "| majority | none |" in text and "| majority | dpo |" not in text
    assert SIMULATED_NOTE not in run_description("demo", table, simulated=False)


def test_a_description_over_mlflows_limit_leaves_the_rest_to_the_report(table):
    full = run_description("demo", table, simulated=True)
    short = run_description("demo", table, simulated=True, limit=len(full) - 300)
    assert len(short) <= len(full) - 300
    assert "more in report/report.md" in short
    rows = format_table(table[table.classifier == "tfidf"])
    assert all(f"| tfidf | {r.condition} | {r.ratio} |" in short for r in rows.itertuples())  # the table is whole
