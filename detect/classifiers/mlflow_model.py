"""Detectors as MLflow pyfunc models: logged from the saved folder, reloaded by URI or run id.

``mlflow.pyfunc.load_model(uri).predict(pd.DataFrame({"text": [...]}))`` returns P(AD) for
any detector kind; :func:`load_logged_detector` gives back the detector object itself.
The pyfunc needs cookiebench importable where it is loaded (it is not a standalone bundle).
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mlflow.pyfunc
from mlflow.pyfunc.model import PythonModel

import mlflow
from detect.classifiers.base import Detector, ModelFolderError
from detect.records import Transcript

ARTIFACT_KEY = "detector"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def frame_to_transcripts(frame: Any) -> list[Transcript]:
    """Rows with a ``text`` column (optional ``id``, ``speaker_id``, ``verbatim``) -> unlabelled transcripts."""
    if "text" not in frame.columns:
        raise ValueError(f"input needs a 'text' column, got columns {list(frame.columns)}")
    rows = frame.to_dict("records")
    return [
        Transcript(
            id=str(row.get("id", i)),
            speaker_id=str(row.get("speaker_id", row.get("id", i))),
            label=None,
            text=str(row["text"]),
            verbatim=str(row.get("verbatim") or ""),
        )
        for i, row in enumerate(rows)
    ]


with warnings.catch_warnings():
    # MLflow asks for type hints on ``predict`` when the class is created; they stay off on purpose:
    # MLflow would read them as a list-only input schema, while this model takes a DataFrame.
    warnings.filterwarnings("ignore", message=".*Add type hints to the `predict` method.*")

    class DetectorPyfunc(PythonModel):
        """Wraps :func:`detect.classifiers.load_detector` and ``predict_proba``; pickled by reference."""

        def load_context(self, context):
            from detect.classifiers import load_detector

            self.detector = load_detector(context.artifacts[ARTIFACT_KEY])

        def predict(self, context, model_input, params=None):
            import pandas as pd

            p_ad = self.detector.p_ad(frame_to_transcripts(model_input))
            return pd.DataFrame({"p_ad": p_ad})


def log_detector(detector: Detector, *, name: str = "model") -> Any:
    """Log a fitted detector to the active MLflow run as a pyfunc model; returns the ModelInfo."""
    import sklearn
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    signature = ModelSignature(inputs=Schema([ColSpec("string", "text")]), outputs=Schema([ColSpec("double", "p_ad")]))
    # Listed, not inferred: inference loads the model in a subprocess, which costs minutes for BERT.
    requirements = [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}", "pandas", "joblib"]
    if detector.name == "bert":
        import torch
        import transformers

        requirements += [f"torch=={torch.__version__.split('+')[0]}", f"transformers=={transformers.__version__}"]
    if detector.name == "markers":
        requirements += ["spacy"]
    with tempfile.TemporaryDirectory(prefix="cookiebench-detector-") as tmp:
        folder = detector.save(Path(tmp) / "detector")
        # The model is our own class, pickled by reference to this module: the cloudpickle caution
        # MLflow logs for arbitrary objects says nothing new here.
        pyfunc_logger = logging.getLogger("mlflow.pyfunc")
        level = pyfunc_logger.level
        pyfunc_logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                # An input example would make MLflow reload and run the model once more just to check it.
                warnings.filterwarnings("ignore", message=".*input example was not provided.*")
                return mlflow.pyfunc.log_model(
                    name=name,
                    python_model=DetectorPyfunc(),
                    artifacts={ARTIFACT_KEY: str(folder)},
                    signature=signature,
                    pip_requirements=requirements,
                )
        finally:
            pyfunc_logger.setLevel(level)


def is_model_uri(value: str) -> bool:
    return "://" in value or ":/" in value or bool(_RUN_ID.match(value))


def load_logged_detector(run_or_uri: str) -> Detector:
    """A detector from an MLflow run id (its ``model``) or any model URI (``runs:/...``, ``models:/...``)."""
    from mlflow.exceptions import MlflowException

    uri = f"runs:/{run_or_uri}/model" if _RUN_ID.match(run_or_uri) else run_or_uri
    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as exc:
        raise ModelFolderError(
            uri,
            f"no loadable detector model ({str(exc).splitlines()[0][:160]})",
            fix="pass the run id of `cookiebench detect train`/`cv` or a model folder",
        ) from exc
    python_model = loaded.unwrap_python_model()
    detector = getattr(python_model, "detector", None)
    if detector is None:
        raise ModelFolderError(
            uri,
            "is an MLflow model but not a cookiebench detector",
            fix="pass a run logged by `cookiebench detect train` or `cv`",
        )
    return detector
