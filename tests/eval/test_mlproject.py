"""mlflow/MLproject runs offline in the local environment, and our runs nest under the project's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_detect_cv_entry_point_runs_offline_and_is_the_project_run(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    bin_dir = str(Path(sys.executable).parent)
    # mlflow.set_experiment() in earlier in-process tests leaves MLFLOW_EXPERIMENT_ID behind, and
    # `mlflow run` refuses it beside --experiment-name: the project run starts from a clean MLflow env.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PATH=f"{bin_dir}:{os.environ.get('PATH', '')}", MLFLOW_TRACKING_URI=uri)
    done = subprocess.run(
        [
            str(Path(bin_dir) / "mlflow"),
            "run",
            "mlflow",
            "--env-manager",
            "local",
            "-e",
            "detect_cv",
            "-P",
            "folds=2",
            "-P",
            "repeats=1",
            "--experiment-name",
            "mlproject-test",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mlproject-test")
    runs = client.search_runs([experiment.experiment_id])
    project = [r for r in runs if r.data.tags.get("mlflow.project.entryPoint") == "detect_cv"]
    assert len(project) == 1 and project[0].info.status == "FINISHED"
    assert project[0].info.run_name == "kfold-tfidf"  # our parent run is the project's run
    assert project[0].data.params["classifier"] == "tfidf"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == project[0].info.run_id]
    assert sorted(r.info.run_name for r in children) == ["seed0-fold0", "seed0-fold1"]
    assert "f1" in children[0].data.metrics
