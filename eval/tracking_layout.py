"""The benchmark's MLflow layout.

One experiment per benchmark; a parent run per invocation holding the config, corpus digest,
code version, summary metrics, plots, the report, synthetic JSONL and adapters; one child
run per condition x ratio x classifier with the per-cell metrics as steps (cell i = seed,
fold in a fixed order) and their mean, sd and paired delta against `none`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from detect import tracking
from detect.metrics import METRICS
from eval.report import delta_f1_chart, marker_distributions, ratio_curve, write_report

logger = logging.getLogger(__name__)
PLOT_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate")


def log_benchmark(config, *, corpus, groups, scores: pd.DataFrame, table: pd.DataFrame, quality: pd.DataFrame,
                  marker_frame: pd.DataFrame, run_dir: Path, timings: dict[str, float], simulated: bool,
                  tracking_uri: str | None = None) -> tuple[str, Path]:
    """Writes plots and the report into ``run_dir/report`` and logs everything; returns (run id, report.html)."""

    folder = run_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    table.to_csv(folder / "summary.csv", index=False)
    quality.to_csv(folder / "quality.csv", index=False)
    images = [delta_f1_chart(table, folder / "delta_f1.png"), ratio_curve(table, folder / "ratio_curve.png")]
    if len(set(marker_frame.group)) > 2:
        images.append(marker_distributions(marker_frame, folder / "marker_distributions.png", PLOT_MARKERS))
    context = {
        "benchmark": config.name, "config digest": config.digest(), "corpus": str(corpus.root),
        "corpus digest": corpus.digest(), "code": tracking.git_commit(),
        "folds": f"{config.protocol.split}, {config.protocol.folds} folds x {config.protocol.repeats} seeds",
        "wall time by stage (s)": ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    }
    _, report = write_report(folder, title=f"cookiebench: {config.name}", table=table, quality=quality,
                             images=images, context=context, simulated=simulated)

    params = {"config": config.model_dump(mode="json"), **tracking.provenance_params(corpus)}
    with tracking.experiment_run(config.experiment, f"benchmark-{config.name}", uri=tracking_uri or config.tracking.uri,
                                 params=params, tags={"stage": "benchmark", "simulated": str(simulated)}) as parent:
        tracking.log_corpus_dataset(corpus, name=f"corpus-{corpus.digest()}", context="evaluation")
        tracking.log_metrics({f"time_{k}_s": v for k, v in timings.items()})
        cell_order = scores[["seed", "fold"]].drop_duplicates().sort_values(["seed", "fold"]).reset_index(drop=True)
        step_of = {(r.seed, r.fold): i for i, r in cell_order.iterrows()}
        for row in table.itertuples():
            name = f"{row.classifier}-{row.condition}" + ("" if row.condition == "none" else f"-x{row.ratio:g}")
            cells = scores[(scores.classifier == row.classifier) & (scores.condition == row.condition)
                           & (scores.ratio.astype(float) == float(row.ratio))]
            with tracking.child_run(name, params={"classifier": row.classifier, "condition": row.condition,
                                                  "ratio": row.ratio}):
                for cell in cells.itertuples():
                    tracking.log_metrics({m: getattr(cell, m) for m in METRICS}, step=step_of[(cell.seed, cell.fold)])
                tracking.log_metrics({
                    "f1_mean": row.f1_mean, "f1_sd": row.f1_sd, "auroc_mean": row.auroc_mean,
                    "delta_f1": row.delta_f1, "delta_f1_low": row.delta_f1_low, "delta_f1_high": row.delta_f1_high,
                    "p_f1": row.p_f1, "delta_auroc": row.delta_auroc, "p_auroc": row.p_auroc,
                    "synthetic_used": row.synthetic, "synthetic_wanted": row.wanted,
                })
                _log_synthetic_dataset(groups, row.condition)
            tracking.log_metrics({f"delta_f1/{name}": row.delta_f1, f"f1/{name}": row.f1_mean})
        tracking.log_path(folder, "report")
        tracking.log_path(run_dir / "synthetic", "synthetic")
        for group in groups.values():
            generators = run_dir / "generators" / group.key
            for stage, units in group.adapters.items():
                for unit, adapter in units.items():
                    tracking.log_path(adapter, f"adapters/{group.key}/{stage}-{unit}")
            for pairs in sorted(generators.glob("*/pairs*.json*")):
                tracking.log_path(pairs, f"pairs/{group.key}/{pairs.parent.name}")
        run_id = parent.info.run_id
    return run_id, report


def _log_synthetic_dataset(groups, condition: str) -> None:
    """The synthetic training data of a condition as an MLflow dataset input (context: training)."""
    rows = [{"id": t.id, "label": t.label.value if t.label else None, "generator": t.source.generator,
             "group": key, "text": t.text} for key, g in groups.items() for t in g.synthetic.get(condition, [])]
    if not rows:
        return
    tracking.log_dataset(pd.DataFrame(rows), name=f"synthetic-{condition}", context="training")
