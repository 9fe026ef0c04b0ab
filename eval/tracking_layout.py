"""The benchmark's MLflow layout.

One experiment per benchmark; one parent run per benchmark *state folder*: it opens when the
benchmark starts (with system metrics), takes each classifier cell as it finishes
(``cell_f1/<classifier>-<condition>-x<ratio>``, step = the cell's fold), a reviewer's table of
the synthetic samples once they are filtered, and at the end the summary metrics, plots,
report, synthetic JSONL and adapters, and one child run per condition x ratio x classifier
(per-cell metrics as steps, their mean, sd and paired deltas against `none`: F1, AUROC, Brier,
log-loss), and each classifier's minimum detectable effects (``mde/<classifier>/<statistic>``). A benchmark that
dies leaves the run FAILED with what it had done; its resume reopens the same run.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from detect import tracking
from detect.metrics import METRICS
from eval.analysis import PAIRED
from eval.power import STATISTICS
from eval.report import delta_f1_chart, marker_distributions, ratio_curve, write_report

logger = logging.getLogger(__name__)
PLOT_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate")
RUN_STATE = "mlflow-run.json"  # in the state folder: the parent run a resume continues
SAMPLE_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "disfluency_rate")


@contextmanager
def benchmark_run(config, corpus, run_dir: Path, *, simulated: bool, tracking_uri: str | None = None) -> Iterator[str]:
    """The benchmark's parent run for the length of the block; yields its id.

    A resume (same state folder, config and store) of a benchmark that did not finish reopens
    the run its first start made; MLflow marks the run FAILED if the block raises, FINISHED
    otherwise.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = tracking_uri or config.tracking.uri or tracking.default_tracking_uri()
    tracking.setup_tracking(config.experiment, uri)
    state_file = run_dir / RUN_STATE
    previous = json.loads(state_file.read_text()) if state_file.exists() else {}
    run_id = None
    if previous.get("config_digest") == config.digest() and previous.get("tracking_uri") == uri:
        try:
            info = mlflow.MlflowClient(uri).get_run(previous["run_id"]).info
            run_id = None if info.status == "FINISHED" else info.run_id  # a finished one is rerun as a new run
        except MlflowException:
            logger.warning("MLflow run %s of the last start is gone from %s: starting a new run", previous["run_id"], uri)
    with mlflow.start_run(run_id=run_id, run_name=None if run_id else f"benchmark-{config.name}",
                          tags=None if run_id else {"stage": "benchmark", "simulated": str(simulated)},
                          log_system_metrics=config.tracking.system_metrics) as parent:
        if run_id:
            logger.info("resuming MLflow run %s", run_id)
        else:
            mlflow.log_params(tracking.flatten_params(
                {"config": config.as_dict(), **tracking.provenance_params(corpus)}))
            state_file.write_text(json.dumps({"run_id": parent.info.run_id, "config_digest": config.digest(),
                                              "tracking_uri": uri}) + "\n")
        yield parent.info.run_id


def cell_name(classifier: str, condition: str, ratio: float) -> str:
    return f"{classifier}-{condition}" + ("" if condition == "none" else f"-x{float(ratio):g}")


def log_cell(row: dict, step: int) -> None:
    """One finished classifier cell into the parent run, as it finishes."""
    name = cell_name(row["classifier"], row["condition"], row["ratio"])
    tracking.log_metrics({f"cell_f1/{name}": row["f1"], f"cell_auroc/{name}": row["auroc"]}, step=step)


def log_samples(groups) -> None:
    """Every synthetic record, with its filter verdicts and markers, as one MLflow table
    (Artifacts > synthetic_samples.json): what the classifiers were trained on, readable."""
    rows = []
    for key, group in groups.items():
        for condition, records in group.records.items():
            for r in records:
                failed = sorted(name for name, verdict in r.verdicts.items() if not verdict.passed)
                rows.append({"group": key, "condition": condition, "style": r.style, "generator": r.generator.tag(),
                             "passed": not failed, "failed_filters": ", ".join(failed), "text": r.text,
                             **{m: round(float(r.markers[m]), 4) for m in SAMPLE_MARKERS if m in (r.markers or {})}})
    if rows:
        tracking.log_frame(pd.DataFrame(rows), "synthetic_samples.json")


def log_benchmark(config, *, corpus, groups, scores: pd.DataFrame, table: pd.DataFrame, quality: pd.DataFrame,
                  marker_frame: pd.DataFrame, run_dir: Path, timings: dict[str, float], simulated: bool,
                  quality_report=None) -> Path:
    """Writes plots and the report into ``run_dir/report`` and logs everything into the active
    (parent) run; returns report.html.

    ``quality_report`` (:class:`augment.quality.QualityReport`): the generation-quality report
    per condition and style, the same as ``cookiebench augment evaluate`` writes, as
    ``report/quality.json`` and as ``quality/<condition>/<style>/<measure>`` metrics.
    """

    folder = run_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    table.to_csv(folder / "summary.csv", index=False)
    quality.to_csv(folder / "quality.csv", index=False)
    if quality_report is not None:
        (folder / "quality.json").write_text(quality_report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    images = [delta_f1_chart(table, folder / "delta_f1.png"), ratio_curve(table, folder / "ratio_curve.png")]
    if len(set(marker_frame.group)) > 2:
        images.append(marker_distributions(marker_frame, folder / "marker_distributions.png", PLOT_MARKERS))
    context = {
        "benchmark": config.name, "config digest": config.digest(), "corpus": str(corpus.root),
        "corpus digest": corpus.digest(), "code": tracking.git_commit(),
        "protocol": config.protocol.describe(),
        "wall time by stage (s)": ", ".join(f"{k} {v:.0f}" for k, v in timings.items()),
    }
    _, report = write_report(folder, title=f"cookiebench: {config.name}", table=table, quality=quality,
                             images=images, context=context, simulated=simulated)

    tracking.log_corpus_dataset(corpus, name=f"corpus-{corpus.digest()}", context="evaluation")
    tracking.log_metrics({f"time_{k}_s": v for k, v in timings.items()})
    if quality_report is not None:
        tracking.log_metrics(quality_report.metrics())
    for row in quality.to_dict("records"):  # how each generated condition x style ended: wanted vs passed
        tracking.log_metrics({f"generation/{row['condition']}/{row['style']}/{key}": row[key]
                              for key in ("generated", "passed", "wanted", "rounds") if key in row})
    cell_order = scores[["seed", "fold"]].drop_duplicates().sort_values(["seed", "fold"]).reset_index(drop=True)
    step_of = {(r.seed, r.fold): i for i, r in cell_order.iterrows()}
    for row in table.itertuples():
        name = cell_name(row.classifier, row.condition, row.ratio)
        cells = scores[(scores.classifier == row.classifier) & (scores.condition == row.condition)
                       & (scores.ratio.astype(float) == float(row.ratio))]
        with tracking.child_run(name, params={"classifier": row.classifier, "condition": row.condition,
                                              "ratio": row.ratio}):
            for cell in cells.itertuples():  # scores from before a metric was kept lack it: NaN, left out
                tracking.log_metrics({m: getattr(cell, m, math.nan) for m in METRICS},
                                     step=step_of[(cell.seed, cell.fold)])
            tracking.log_metrics({
                "f1_mean": row.f1_mean, "f1_sd": row.f1_sd, "auroc_mean": row.auroc_mean,
                "brier_mean": row.brier_mean, "log_loss_mean": row.log_loss_mean,
                **{k: getattr(row, k) for m in PAIRED
                   for k in (f"delta_{m}", f"delta_{m}_low", f"delta_{m}_high", f"p_{m}")},
                "synthetic_used": row.synthetic, "synthetic_wanted": row.wanted,
            })
            _log_synthetic_dataset(groups, row.condition)
        tracking.log_metrics({f"delta_f1/{name}": row.delta_f1, f"f1/{name}": row.f1_mean,
                              f"delta_brier/{name}": row.delta_brier, f"delta_auroc/{name}": row.delta_auroc})
    for row in table.drop_duplicates("classifier").itertuples():  # what each classifier's design could see
        tracking.log_metrics({f"mde/{row.classifier}/{s}": getattr(row, f"mde_{s}", math.nan) for s in STATISTICS})
    tracking.log_path(folder, "report")
    tracking.log_path(run_dir / "synthetic", "synthetic")
    for group in groups.values():
        generators = run_dir / "generators" / group.key
        for stage, units in group.adapters.items():
            for unit, adapter in units.items():
                tracking.log_path(adapter, f"adapters/{group.key}/{stage}-{unit}")
        for pairs in sorted(generators.glob("*/pairs*.json*")):
            tracking.log_path(pairs, f"pairs/{group.key}/{pairs.parent.name}")
    return report


def _log_synthetic_dataset(groups, condition: str) -> None:
    """The synthetic training data of a condition as an MLflow dataset input (context: training)."""
    rows = [{"id": t.id, "label": t.label.value if t.label else None, "generator": t.source.generator,
             "group": key, "text": t.text} for key, g in groups.items() for t in g.synthetic.get(condition, [])]
    if not rows:
        return
    tracking.log_dataset(pd.DataFrame(rows), name=f"synthetic-{condition}", context="training")
