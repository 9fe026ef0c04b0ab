"""The benchmark's MLflow layout: it logs what the benchmark hands it (tables, files, metrics).

One experiment per benchmark; one parent run per benchmark *state folder*: it opens when the
benchmark starts (with system metrics), takes each classifier cell as it finishes
(``cell_f1/<classifier>-<condition>-x<ratio>``, step = the cell's fold), a reviewer's table of
the synthetic samples once they are filtered, and at the end the summary metrics, the report
folder (written by :func:`eval.report.write_benchmark_report`), synthetic JSONL, adapters and
pairs, the report's verdict as the run's description (``description.md``, shown on the run page),
one child run per condition x ratio x classifier (per-cell metrics as steps, their mean,
sd and paired deltas against `none`: F1, AUROC, Brier, log-loss), and each classifier's minimum
detectable effects (``mde/<classifier>/<statistic>``). A benchmark that dies leaves the run FAILED with what
it had done; its resume reopens the same run.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from detect import tracking
from detect.metrics import METRICS
from eval.analysis import PAIRED
from eval.power import STATISTICS
from eval.report import DESCRIPTION, SIMULATED_NOTE

logger = logging.getLogger(__name__)
RUN_STATE = "mlflow-run.json"  # in the state folder: the parent run a resume continues


@contextmanager
def benchmark_run(config, corpus, run_dir: Path, *, simulated: bool, tracking_uri: str | None = None) -> Iterator[str]:
    """The benchmark's parent run for the length of the block; yields its id.

    A resume (same state folder, config and store) of a benchmark that did not finish reopens
    the run its first start made; MLflow marks the run FAILED if the block raises, FINISHED
    otherwise.
    """
    from mlflow.exceptions import MlflowException

    import mlflow

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
            logger.warning(
                "MLflow run %s of the last start is gone from %s: starting a new run", previous["run_id"], uri
            )
    with mlflow.start_run(
        run_id=run_id,
        run_name=None if run_id else f"benchmark-{config.name}",
        tags=None if run_id else {"stage": "benchmark", "simulated": str(simulated)},
        log_system_metrics=config.tracking.system_metrics,
    ) as parent:
        if run_id:
            logger.info("resuming MLflow run %s", run_id)
        else:
            mlflow.log_params(
                tracking.flatten_params({"config": config.as_dict(), **tracking.provenance_params(corpus)})
            )
            tracking.set_note(
                (f"**{SIMULATED_NOTE}**\n\n" if simulated else "")
                + f"Benchmark `{config.name}`: its verdict is written here when it finishes; until "
                "then each classifier cell arrives as a `cell_f1/...` metric as it is scored."
            )
            state_file.write_text(
                json.dumps({"run_id": parent.info.run_id, "config_digest": config.digest(), "tracking_uri": uri}) + "\n"
            )
        yield parent.info.run_id


def cell_name(classifier: str, condition: str, ratio: float, size: int = 0) -> str:
    """``tfidf-real-x2``; at a training size of the low-resource protocol ``tfidf-real-x2-n16``."""
    return (
        f"{classifier}-{condition}"
        + ("" if condition == "none" else f"-x{float(ratio):g}")
        + (f"-n{int(size)}" if size else "")
    )


def log_cell(row: dict, step: int) -> None:
    """One finished classifier cell into the parent run, as it finishes."""
    name = cell_name(row["classifier"], row["condition"], row["ratio"], row.get("size", 0))
    tracking.log_metrics({f"cell_f1/{name}": row["f1"], f"cell_auroc/{name}": row["auroc"]}, step=step)


def log_samples(samples: pd.DataFrame) -> None:
    """The synthetic records, with their filter verdicts and markers, as one MLflow table
    (Artifacts > synthetic_samples.json)."""
    if len(samples):
        tracking.log_frame(samples, "synthetic_samples.json")


def log_benchmark(
    *,
    corpus,
    scores: pd.DataFrame,
    table: pd.DataFrame,
    quality: pd.DataFrame,
    timings: dict[str, float],
    report_dir: Path,
    artifacts: Sequence[tuple[Path, str]],
    datasets: Mapping[str, pd.DataFrame],
    quality_report=None,
) -> None:
    """Logs the finished benchmark into the active (parent) run: metrics, a child run per row of
    the summary table, the report folder, and ``artifacts`` (a file or folder, and the artifact
    folder it goes to).

    ``datasets``: each condition's synthetic training data, an MLflow dataset input of its child
    runs; ``quality_report`` (:class:`augment.quality_results.QualityReport`): as
    ``quality/<condition>/<style>/<measure>`` metrics.
    """
    tracking.log_corpus_dataset(corpus, name=f"corpus-{corpus.digest()}", context="evaluation")
    tracking.log_metrics({f"time_{k}_s": v for k, v in timings.items()})
    if quality_report is not None:
        tracking.log_metrics(quality_report.metrics())
    for row in quality.to_dict("records"):  # how each generated condition x style ended: wanted vs passed
        tracking.log_metrics(
            {
                f"generation/{row['condition']}/{row['style']}/{key}": row[key]
                for key in ("generated", "passed", "wanted", "rounds")
                if key in row
            }
        )
    cell_order = scores[["seed", "fold"]].drop_duplicates().sort_values(["seed", "fold"]).reset_index(drop=True)
    step_of = {(r.seed, r.fold): i for i, r in cell_order.iterrows()}
    for row in table.itertuples():
        size = getattr(row, "size", 0)
        name = cell_name(row.classifier, row.condition, row.ratio, size)
        cells = scores[
            (scores.classifier == row.classifier)
            & (scores.condition == row.condition)
            & (scores.ratio.astype(float) == float(row.ratio))
            & (scores.get("size", 0) == size)
        ]
        with tracking.child_run(
            name,
            params={
                "classifier": row.classifier,
                "condition": row.condition,
                "ratio": row.ratio,
                **({"size": size} if size else {}),
            },
        ):
            for cell in cells.itertuples():  # scores from before a metric was kept lack it: NaN, left out
                tracking.log_metrics(
                    {m: getattr(cell, m, math.nan) for m in METRICS}, step=step_of[(cell.seed, cell.fold)]
                )
            tracking.log_metrics(
                {
                    "f1_mean": row.f1_mean,
                    "f1_sd": row.f1_sd,
                    "auroc_mean": row.auroc_mean,
                    "brier_mean": row.brier_mean,
                    "log_loss_mean": row.log_loss_mean,
                    **{
                        k: getattr(row, k)
                        for m in PAIRED
                        for k in (f"delta_{m}", f"delta_{m}_low", f"delta_{m}_high", f"p_{m}")
                    },
                    "synthetic_used": row.synthetic,
                    "synthetic_wanted": row.wanted,
                }
            )
            if row.condition in datasets:
                tracking.log_dataset(datasets[row.condition], name=f"synthetic-{row.condition}", context="training")
        tracking.log_metrics(
            {
                f"delta_f1/{name}": row.delta_f1,
                f"f1/{name}": row.f1_mean,
                f"delta_brier/{name}": row.delta_brier,
                f"delta_auroc/{name}": row.delta_auroc,
            }
        )
    for row in table.drop_duplicates(["classifier", "size"] if "size" in table else "classifier").itertuples():
        at = f"-n{row.size}" if getattr(row, "size", 0) else ""  # what each classifier's design could see
        tracking.log_metrics({f"mde/{row.classifier}{at}/{s}": getattr(row, f"mde_{s}", math.nan) for s in STATISTICS})
    tracking.log_path(report_dir, "report")
    tracking.set_note((report_dir / DESCRIPTION).read_text(encoding="utf-8"))  # the run page shows the verdict
    for path, artifact in artifacts:
        tracking.log_path(path, artifact)
