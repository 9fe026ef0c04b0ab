"""MLflow tracking against a real SQLite store in a temp dir, and the `detect` command line."""

from __future__ import annotations

import json
import random
import socket

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import mlflow
from detect import tracking
from detect.classifiers import load_detector
from detect.classifiers.mlflow_model import load_logged_detector
from detect.cv import run_cv
from detect.detect_cli import detect_app
from detect.errors import CorpusError, UserError
from detect.records import Corpus, Label, Transcript

AD_WORDS = "um uh the thing he is uh falling the um thing there it".split()
HC_WORDS = "the boy stands on the stool reaching for cookies while mother dries dishes and water overflows".split()


def make_corpus(n_ad: int = 10, n_hc: int = 10, seed: int = 0) -> Corpus:
    rng = random.Random(seed)
    out = []
    for i in range(n_ad + n_hc):
        label = Label.AD if i < n_ad else Label.HC
        vocab = AD_WORDS if label == Label.AD else HC_WORDS
        out.append(
            Transcript(
                id=f"t{i}",
                speaker_id=f"s{i}",
                label=label,
                text=" ".join(rng.choice(vocab) for _ in range(30)),
                split="test" if i % 4 == 0 else "train",
            )
        )
    return Corpus(out)


def write_jsonl(corpus: Corpus, path) -> None:
    path.write_text(
        "\n".join(
            json.dumps(
                {"id": t.id, "speaker_id": t.speaker_id, "label": t.label.value, "text": t.text, "split": t.split}
            )
            for t in corpus
        )
    )


@pytest.fixture()
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    mlflow.set_tracking_uri(None)


# -- where the store is -------------------------------------------------------------------
def test_default_uri_is_sqlite_under_home_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COOKIEBENCH_HOME", str(tmp_path))
    uri = tracking.default_tracking_uri()
    assert uri == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    assert tracking.artifact_root_for(uri) == (tmp_path / "mlflow" / "artifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking.default_tracking_uri() == "http://tracking.example:5000"


def test_refused_connection_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: nothing listens there
    with pytest.raises(tracking.TrackingError, match=f"127.0.0.1:{port} is unreachable.*MLFLOW_TRACKING_URI") as info:
        tracking.check_tracking_uri(f"http://127.0.0.1:{port}")
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_silent_server_fails_at_the_timeout_instead_of_hanging():
    with socket.socket() as server:  # accepts TCP connections but never answers HTTP
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        with pytest.raises(tracking.TrackingError, match="unreachable"):
            tracking.check_tracking_uri(f"http://127.0.0.1:{port}", timeout=1.0)


@pytest.mark.slow
def test_setup_puts_artifacts_beside_the_sqlite_store(store, tmp_path):
    experiment_id = tracking.setup_tracking("t-setup", store)
    experiment = MlflowClient(store).get_experiment(experiment_id)
    assert experiment.artifact_location == (tmp_path / "artifacts").as_uri()
    assert tracking.setup_tracking("t-setup", store) == experiment_id  # reused, not duplicated


@pytest.mark.slow
def test_an_experiment_is_of_the_model_training_kind_and_its_runs_open_in_that_view(store):
    client = MlflowClient(store)
    made_elsewhere = client.create_experiment("t-kind")  # e.g. by an older cookiebench: no kind tag
    assert tracking.setup_tracking("t-kind", store) == made_elsewhere
    assert client.get_experiment(made_elsewhere).tags[tracking.EXPERIMENT_KIND] == "custom_model_development"
    with tracking.parent_run("viewed") as run:
        url = tracking.run_url(run.info.run_id)
    assert (
        url == f"http://127.0.0.1:5000/#/experiments/{made_elsewhere}/runs/{run.info.run_id}"
        "?workflowType=machine_learning"
    )


@pytest.mark.slow
def test_a_note_is_the_runs_markdown_description_cut_at_a_line_within_mlflows_limit(store):
    tracking.setup_tracking("t-note", store)
    lines = [f"- finding {i}: " + "x" * 90 for i in range(100)]  # 10,000 characters
    with tracking.parent_run("noted") as run:
        tracking.set_note("| a | b |\n| --- | --- |\n| 1 | 2 |")
        table = MlflowClient(store).get_run(run.info.run_id).data.tags[tracking.NOTE_TAG]
        tracking.set_note("\n".join(lines))
    note = MlflowClient(store).get_run(run.info.run_id).data.tags[tracking.NOTE_TAG]
    assert table == "| a | b |\n| --- | --- |\n| 1 | 2 |"
    assert len(note) <= tracking.NOTE_LIMIT and note.splitlines() == lines[: len(note.splitlines())]


@pytest.mark.slow
def test_a_frame_is_logged_as_csv_text_or_as_an_mlflow_table(store):
    frame = pd.DataFrame({"style": ["AD", "HC"], "text": ["uh the boy", "the boy, on a stool"]})
    tracking.setup_tracking("t-frame", store)
    with tracking.parent_run("frames") as run:
        tracking.log_frame(frame, "tables/samples.csv")
        tracking.log_frame(frame, "samples.json")
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/tables/samples.csv") == frame.to_csv(index=False)
    table = mlflow.load_table("samples.json", run_ids=[run.info.run_id])  # the UI's table view reads it so
    assert table[["style", "text"]].to_dict("records") == frame.to_dict("records")


# -- a tracked cross-validation ---------------------------------------------------------------
@pytest.mark.slow
def test_run_cv_logs_parent_children_metrics_artifacts_and_a_reloadable_model(store):
    corpus = make_corpus()
    result, run_id = run_cv(corpus, "tfidf", folds=3, repeats=2, experiment="t-cv", tracking_uri=store)
    client = MlflowClient(store)
    parent = client.get_run(run_id)
    params = parent.data.params
    assert params["classifier"] == "tfidf"
    assert params["corpus_digest"] == corpus.digest()
    assert params["git_commit"]
    assert params["config.ngram_max"] == "2"
    metrics = parent.data.metrics
    assert metrics["accuracy_mean"] == pytest.approx(result.summary["accuracy"].mean)
    assert {"f1_sd", "auroc_ci_low", "specificity_ci_high"} <= set(metrics)

    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 6
    assert {c.data.tags["mlflow.runName"] for c in children} == {f"seed{s}-fold{k}" for s in (0, 1) for k in range(3)}
    child = children[0]
    assert {"f1", "macro_f1", "accuracy", "auroc", "sensitivity", "specificity"} <= set(child.data.metrics)
    assert "confusion_matrix.png" in [a.path for a in client.list_artifacts(child.info.run_id)]

    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"folds.csv", "summary.csv", "predictions.csv", "confusion_matrix.png"} <= artifacts
    assert len(mlflow.artifacts.load_text(f"runs:/{run_id}/folds.csv").strip().splitlines()) == 7
    assert parent.inputs.dataset_inputs[0].dataset.digest  # the evaluated corpus, via mlflow.data

    # the final fit reloads as a pyfunc and as a detector, and both score alike
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    frame = pd.DataFrame({"text": [t.text for t in corpus]})
    via_pyfunc = pyfunc.predict(frame)["p_ad"].to_numpy()
    detector = load_logged_detector(run_id)
    np.testing.assert_allclose(detector.p_ad(list(corpus)), via_pyfunc)
    assert via_pyfunc[:10].min() > via_pyfunc[10:].max()  # AD speakers first, HC after


@pytest.mark.slow
def test_bad_corpus_fails_before_any_run_is_written(store):
    with pytest.raises(CorpusError, match="only 2 HC"):
        run_cv(make_corpus(10, 2), "tfidf", folds=5, experiment="t-bad", tracking_uri=store)
    assert MlflowClient(store).get_experiment_by_name("t-bad") is None


# -- command line -----------------------------------------------------------------------------
runner = CliRunner()


@pytest.mark.slow
def test_cli_cv_train_predict(store, tmp_path):
    corpus = make_corpus(12, 12)
    path = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, path)

    cv = runner.invoke(
        detect_app,
        [
            "cv",
            "--corpus",
            str(path),
            "--classifier",
            "tfidf",
            "--folds",
            "3",
            "--repeats",
            "1",
            "--no-final-fit",
            "--experiment",
            "t-cli",
            "--out",
            str(tmp_path / "cv"),
        ],
    )
    assert cv.exit_code == 0, cv.output
    assert "95% interval" in cv.output and "MLflow run id" in cv.output
    assert len(pd.read_csv(tmp_path / "cv" / "folds.csv")) == 3

    split = runner.invoke(
        detect_app,
        [
            "cv",
            "--corpus",
            str(path),
            "--classifier",
            "majority",
            "--split",
            "adress",
            "--repeats",
            "1",
            "--no-final-fit",
            "--experiment",
            "t-cli",
        ],
    )
    assert split.exit_code == 0, split.output

    train = runner.invoke(
        detect_app,
        [
            "train",
            "--corpus",
            str(path),
            "--classifier",
            "tfidf",
            "--set",
            "min_df=1",
            "--out",
            str(tmp_path / "model"),
            "--experiment",
            "t-cli",
        ],
    )
    assert train.exit_code == 0, train.output
    run_id = train.output.split("MLflow run id:")[1].split()[0]
    params = MlflowClient(store).get_run(run_id).data.params
    assert params["split"] == "train" and params["config.min_df"] == "1"
    assert load_detector(tmp_path / "model").get_params()["min_df"] == 1

    for model in (str(tmp_path / "model"), run_id):
        out = tmp_path / f"scores-{len(model)}.csv"
        predict = runner.invoke(detect_app, ["predict", "--model", model, "--corpus", str(path), "--out", str(out)])
        assert predict.exit_code == 0, predict.output
        scores = pd.read_csv(out)
        assert list(scores.columns) == ["id", "speaker_id", "label", "split", "p_ad", "prediction"]
        assert len(scores) == len(corpus) and "accuracy" in predict.output
    a, b = (pd.read_csv(tmp_path / f"scores-{len(m)}.csv")["p_ad"] for m in (str(tmp_path / "model"), run_id))
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["cv", "--classifier", "tfidf", "--folds", "5"], CorpusError, "only 3 HC speaker"),
        (["train", "--classifier", "bert", "--set", "model_name_or_path=/no/such/model"], UserError, "does not exist"),
        (["predict", "--model", "/no/such/folder", "--out", "x.csv"], UserError, "does not exist"),
        (["cv", "--classifier", "tfidf", "--set", "ngram=3"], UserError, "unknown option"),
    ],
)
def test_cli_bad_input_is_one_line(store, tmp_path, args, error, message):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(make_corpus(10, 3), path)
    result = runner.invoke(detect_app, [*args, "--corpus", str(path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, error), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_cli_one_class_corpus(store, tmp_path):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(make_corpus(8, 0), path)
    result = runner.invoke(detect_app, ["train", "--corpus", str(path), "--no-track", "--out", str(tmp_path / "m")])
    assert isinstance(result.exception, CorpusError)
    assert "only AD speakers" in str(result.exception)
