"""The one MLflow layer: where the store is, runs, and how metrics, tables, files and curves are logged.

Every stage that tracks (``detect cv``/``train``, generator training, the benchmark) goes
through these helpers, so runs look alike in the UI: a parent run per invocation with
provenance params, nested child runs, metrics without NaNs, tables as CSV/JSON artifacts.

Default store: ``sqlite:///<home>/mlflow/mlflow.db`` with artifacts in ``<home>/mlflow/artifacts``,
where ``<home>`` is ``$COOKIEBENCH_HOME`` or the repository root. ``MLFLOW_TRACKING_URI``
points everything at another store (a team server) instead. Typical use::

    with experiment_run("cookiebench-detect", "cv-bert", params=provenance_params(corpus)) as run:
        with child_run("seed0-fold0", params={"fold": 0}):
            log_metrics({"f1": 0.8, "auroc": float("nan")})  # the NaN is left out
        log_frame(folds, "folds.csv")

The helpers log into the active run (MLflow's fluent API); a caller that may run untracked
simply does not open one and does not call them.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from numpy.typing import ArrayLike

from detect.errors import UserError

logger = logging.getLogger(__name__)

ENV_HOME = "COOKIEBENCH_HOME"
ENV_URI = "MLFLOW_TRACKING_URI"
ENV_PROJECT_RUN = "MLFLOW_RUN_ID"  # set by `mlflow run` for the entry point's process
DEFAULT_TIMEOUT_S = 3.0
NOTE_TAG = "mlflow.note.content"  # a run's description, Markdown (mlflow.utils.mlflow_tags.MLFLOW_RUN_NOTE)
NOTE_LIMIT = 8000  # characters MLflow keeps of a tag value (mlflow.utils.validation.MAX_TAG_VAL_LENGTH)
# The UI's two views, "GenAI" (traces, evaluations) and "Model training" (runs, metrics, models).
# MLflow 3.17's UI picks one by the workflowType query parameter, else by the switch's last
# position in the browser's local storage, "GenAI" in a fresh browser; it does not read the
# experiment's kind tag (mlflow/mlflow#24498), which is set anyway for the UIs that do.
TRAINING_VIEW = "?workflowType=machine_learning"
EXPERIMENT_KIND = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"


class TrackingError(UserError):
    """The tracking store cannot be used. Renders as one line with what to do."""


def project_home() -> Path:
    """``$COOKIEBENCH_HOME``, else the repository root this package lives in, else the working directory."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser().resolve()
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def default_tracking_uri() -> str:
    if os.environ.get(ENV_URI):
        return os.environ[ENV_URI]
    return f"sqlite:///{project_home() / 'mlflow' / 'mlflow.db'}"


def artifact_root_for(uri: str) -> str | None:
    """Artifacts beside a local SQLite store (``<dir>/artifacts``); servers choose their own."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        return None
    db = Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None
    return (db.parent / "artifacts").as_uri() if db else None


def check_tracking_uri(uri: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Fail within ``timeout`` seconds, with a clear message, if the store cannot be used.

    MLflow's own client retries an unreachable server for minutes; this probes once.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout):
                return
        except urllib.error.HTTPError:
            return  # something answered (auth, proxy): reachable; MLflow reports the details
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(
                f"MLflow tracking server {uri} is unreachable ({reason}); start it, fix {ENV_URI}, "
                f"or unset {ENV_URI} to use the local store under mlflow/"
            ) from exc
    elif parsed.scheme == "sqlite":
        if not uri.startswith("sqlite:///"):
            raise TrackingError(f"tracking URI {uri} is not a file-backed SQLite URI (use sqlite:///PATH/mlflow.db)")
        db = Path(uri.removeprefix("sqlite:///"))
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackingError(
                f"cannot create {db.parent} for the tracking store ({exc.strerror}); "
                f"set {ENV_HOME} or {ENV_URI} to a writable place"
            ) from exc
        if not os.access(db.parent, os.W_OK):
            raise TrackingError(f"{db.parent} is not writable; set {ENV_HOME} or {ENV_URI} to a writable place")


def setup_tracking(experiment: str, uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Point MLflow at ``uri`` (default :func:`default_tracking_uri`), check it, select ``experiment``.

    Returns the experiment id.
    """
    from mlflow.tracking import MlflowClient

    import mlflow

    uri = uri or default_tracking_uri()
    check_tracking_uri(uri, timeout=timeout)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    project_run = os.environ.get(ENV_PROJECT_RUN)
    if project_run:
        # Inside `mlflow run` (mlflow/MLproject): its run, in the experiment chosen there, holds ours.
        experiment_id = client.get_run(project_run).info.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        logger.info("runs nest under the MLflow project run %s", project_run)
        return experiment_id
    found = client.get_experiment_by_name(experiment)
    if found is None:
        experiment_id = client.create_experiment(
            experiment, artifact_location=artifact_root_for(uri), tags={EXPERIMENT_KIND: MODEL_TRAINING}
        )
    else:
        experiment_id = found.experiment_id
        if EXPERIMENT_KIND not in found.tags:  # made before the tag was set, or by another tool
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def use_tracking_uri(uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Check and select a store without touching experiments (for reading runs back)."""
    import mlflow

    uri = uri or default_tracking_uri()
    check_tracking_uri(uri, timeout=timeout)
    mlflow.set_tracking_uri(uri)
    return uri


def run_url(run_id: str, *, ui: str = "http://127.0.0.1:5000") -> str:
    """The address of a run's page, in the UI's model-training view: on the tracking server
    itself, or in ``make ui`` for a local store."""
    import mlflow

    uri = mlflow.get_tracking_uri()
    base = uri.rstrip("/") if urlparse(uri).scheme in ("http", "https") else ui
    experiment_id = mlflow.MlflowClient().get_run(run_id).info.experiment_id
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}{TRAINING_VIEW}"


def set_note(markdown: str) -> None:
    """The active run's description (the Overview's "Description", rendered as Markdown).

    MLflow keeps at most :data:`NOTE_LIMIT` characters of a tag: a longer note is cut at its
    last whole line within the limit, with a warning (a caller that knows its parts fits them first).
    """
    import mlflow

    if len(markdown) > NOTE_LIMIT:
        cut = markdown.rfind("\n", 0, NOTE_LIMIT) if "\n" in markdown[:NOTE_LIMIT] else NOTE_LIMIT
        logger.warning("run description of %d characters cut to %d (MLflow's limit)", len(markdown), cut)
        markdown = markdown[:cut]
    mlflow.set_tag(NOTE_TAG, markdown)


def git_commit(path: str | Path | None = None) -> str:
    """HEAD of the repository holding this code, '+dirty' when it has local changes; 'unknown' outside git."""
    cwd = Path(path) if path else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def provenance_params(corpus: Any) -> dict[str, Any]:
    """What makes a run reproducible: which data (digest) and which code (commit)."""
    return {
        "corpus_digest": corpus.digest(),
        "corpus_transcripts": len(corpus),
        "corpus_speakers": len(corpus.speakers()),
        "corpus_root": getattr(corpus, "root", None) or "memory",
        "git_commit": git_commit(),
    }


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """MLflow params are flat strings; nested configs become dotted keys."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, prefix=f"{name}."))
        else:
            out[name] = str(value)
    return out


@contextmanager
def parent_run(
    name: str, *, params: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """One run per invocation; children nest under it. Inside `mlflow run` it is the project's run."""
    import mlflow

    with mlflow.start_run(run_name=name, tags=dict(tags or {})) as run:
        if params:
            mlflow.log_params(flatten_params(params))
        yield run


@contextmanager
def experiment_run(
    experiment: str,
    name: str,
    *,
    uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """:func:`setup_tracking` then :func:`parent_run`: the usual way a stage starts tracking."""
    setup_tracking(experiment, uri)
    with parent_run(name, params=params, tags=tags) as run:
        yield run


@contextmanager
def child_run(
    name: str, *, params: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """A nested run (one fold, one seed, one condition) under the active parent."""
    import mlflow

    if mlflow.active_run() is None:
        raise RuntimeError("child_run needs an active parent run; open parent_run() first")
    with mlflow.start_run(run_name=name, nested=True, tags=dict(tags or {})) as run:
        if params:
            mlflow.log_params(flatten_params(params))
        yield run


def finite(values: Mapping[str, Any]) -> dict[str, float]:
    """The values that are finite numbers, as floats (MLflow charts break on NaN, and None is no number)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            continue
        if math.isfinite(float(value)):
            out[key] = float(value)
    return out


def log_metrics(values: Mapping[str, Any], *, step: int | None = None) -> None:
    """Metrics into the active run; NaN, infinite and non-numeric values are left out."""
    import mlflow

    metrics = finite(values)
    if metrics:
        mlflow.log_metrics(metrics, step=step)


def log_frame(frame: Any, artifact_file: str) -> None:
    """A DataFrame as an artifact of the active run: ``.csv`` as text, ``.json`` as an MLflow table."""
    import mlflow

    if artifact_file.endswith(".json"):
        mlflow.log_table(frame, artifact_file=artifact_file)
    else:
        mlflow.log_text(frame.to_csv(index=False), artifact_file)


def log_path(path: str | Path, artifact_path: str | None = None) -> None:
    """A file or a whole folder (if it exists) as artifacts of the active run, under ``artifact_path``."""
    import mlflow

    path = Path(path)
    if path.is_dir():
        mlflow.log_artifacts(str(path), artifact_path=artifact_path)
    elif path.is_file():
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


def trainer_metrics(prefix: str) -> Any:
    """A transformers ``TrainerCallback`` logging every trainer log (loss, rewards, ...) into the
    active run as ``<prefix>/<name>`` at the trainer's global step: the curves of a stage."""
    from transformers import TrainerCallback

    class TrainerMetrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            import mlflow

            if mlflow.active_run() is not None and logs:
                log_metrics({f"{prefix}/{k}": v for k, v in logs.items()}, step=state.global_step)

    return TrainerMetrics()


def log_confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, *, artifact_file: str = "confusion_matrix.png", title: str | None = None
) -> np.ndarray:
    """Plot HC/AD confusion counts into the active run; returns the 2x2 matrix."""
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    import mlflow

    matrix = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=[0, 1])
    fig = Figure(figsize=(3.6, 3.2))  # no pyplot: no global backend state, nothing to close
    ax = fig.subplots()
    ConfusionMatrixDisplay(matrix, display_labels=["HC", "AD"]).plot(ax=ax, colorbar=False)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    mlflow.log_figure(fig, artifact_file)
    return matrix


def corpus_frame(transcripts: Sequence[Any]):
    import pandas as pd

    return pd.DataFrame(
        {
            "id": [t.id for t in transcripts],
            "speaker_id": [t.speaker_id for t in transcripts],
            "label": [t.label.value if t.label else None for t in transcripts],
            "split": [t.split for t in transcripts],
            "source": [t.source.kind for t in transcripts],
            "text": [t.text for t in transcripts],
        }
    )


def log_dataset(frame: Any, *, name: str, context: str, source: str | None = None, targets: str = "label") -> None:
    """A DataFrame as an MLflow dataset input of the active run (``context``: training or evaluation)."""
    from mlflow.data.pandas_dataset import from_pandas

    import mlflow

    with warnings.catch_warnings():
        # MLflow registers its local-file source twice and warns that a path is ambiguous.
        warnings.filterwarnings("ignore", message=".*dataset source can be interpreted in multiple ways.*")
        # source None: MLflow infers it (its default), though its type hint leaves None out
        dataset = from_pandas(frame, name=name, targets=targets, source=source)  # type: ignore[arg-type]
    mlflow.log_input(dataset, context=context)


def log_corpus_dataset(corpus: Any, *, name: str, context: str = "evaluation") -> None:
    """Record the evaluated transcripts as an MLflow dataset input of the active run."""
    root = getattr(corpus, "root", None)
    log_dataset(corpus_frame(corpus), name=name, context=context, source=str(root) if root else None)
