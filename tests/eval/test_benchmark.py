"""The whole protocol on a tiny slice, end to end through TRL, vLLM, the classifiers and MLflow.

The run is instrumented at the points where data is consumed (generator training, few-shot
prompts, classic augmentation, classifier fitting), not at the config: each consumer records
the speakers it actually saw, and no test-fold speaker may be among them.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import html
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd
import pytest

from augment import classic as classic_augmentation
from augment import prompt_only
from augment import train as generator_training
from detect import cv
from detect.metrics import binary_metrics
from detect.readers import load_corpus
from eval.benchmark import run_benchmark
from eval.config import GENERATED, load_config
from eval.plan import group_key, plan
from eval.state import PREDICTIONS, SCORE_KEYS, load_predictions, load_scores
from tests.augment.processes import living

pytestmark = pytest.mark.slow


class DataPathAudit:
    """Speakers seen by every consumer of training data during a benchmark."""

    def __init__(self, id_to_speaker: dict[str, str]):
        self.id_to_speaker = id_to_speaker
        self.generator_speakers: dict[str, frozenset[str]] = {}  # group key -> speakers trained on
        self.prompt_pools: list[frozenset[str]] = []
        self.classic_inputs: list[frozenset[str]] = []
        self.fits: list[dict[str, frozenset[str]]] = []
        self.generators_cached: list[bool] = []

    def install(self, monkeypatch):
        real_train = generator_training.train_generators

        def train_generators(transcripts, out_dir, *args, **kwargs):
            self.generator_speakers[str(out_dir).rstrip("/").rsplit("/", 1)[-1]] = frozenset(
                t.speaker_id for t in transcripts
            )
            report = real_train(transcripts, out_dir, *args, **kwargs)
            self.generators_cached.append(
                all(u.sft.cached and (u.dpo is None or u.dpo.cached) for u in report.units.values())
            )
            return report

        monkeypatch.setattr(generator_training, "train_generators", train_generators)

        real_init = prompt_only.FewShotPrompter.__init__

        def prompter_init(prompter, training, *args, **kwargs):
            real_init(prompter, training, *args, **kwargs)
            self.prompt_pools.append(frozenset(t.speaker_id for t in prompter.pool))

        monkeypatch.setattr(prompt_only.FewShotPrompter, "__init__", prompter_init)

        real_classic = classic_augmentation.classic_augment

        def classic_augment(transcripts, *args, **kwargs):
            self.classic_inputs.append(frozenset(t.speaker_id for t in transcripts))
            return real_classic(transcripts, *args, **kwargs)

        monkeypatch.setattr(classic_augmentation, "classic_augment", classic_augment)

        real_make = cv.make_detector

        def make_detector(*args, **kwargs):
            detector = real_make(*args, **kwargs)
            real_fit = detector.fit

            def fit(train, y=None):
                self.fits.append(self._speakers_behind(train))
                return real_fit(train, y)

            detector.fit = fit
            return detector

        monkeypatch.setattr(cv, "make_detector", make_detector)

    def _speakers_behind(self, transcripts) -> dict[str, frozenset[str]]:
        """Real speakers of a training set, and the speakers behind each synthetic transcript."""
        real, behind = set(), set()
        for t in transcripts:
            if not t.is_synthetic:
                real.add(t.speaker_id)
                continue
            behind |= {self.id_to_speaker[p] for p in t.source.parent_ids}
            generator = t.source.generator or ""
            if generator.split(":", 1)[0] in ("lora", "merged"):  # a trained generator, served either way
                key = generator.split(":", 1)[1].split("-", 1)[0]
                behind |= self.generator_speakers[key]
        return {"real": frozenset(real), "behind_synthetic": frozenset(behind)}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """16 training speakers of the simulated cohort (8 AD, 8 HC) as CSV, verbatim text."""
    train = load_corpus().by_split("train")
    chosen = [t for t in train if t.label.value == "AD"][:8] + [t for t in train if t.label.value == "HC"][:8]
    path = tmp_path_factory.mktemp("corpus") / "tiny.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "speaker_id", "label", "text"])
        for t in chosen:
            writer.writerow([t.id, t.speaker_id, t.label.value, t.verbatim])
    return path


@pytest.fixture(scope="module")
def benchmark_run(tiny_corpus, tmp_path_factory):
    """One instrumented tiny benchmark, shared by the tests below (it trains and serves)."""
    home = tmp_path_factory.mktemp("benchmark")
    uri = f"sqlite:///{home}/mlflow.db"
    config = load_config("tiny", corpus=str(tiny_corpus), output_dir=str(home / "run"))
    corpus, folds, _ = plan(config)
    audit = DataPathAudit({t.id: t.speaker_id for t in corpus})
    with pytest.MonkeyPatch.context() as monkeypatch:
        audit.install(monkeypatch)
        result = run_benchmark(config, tracking_uri=uri)
        yield {
            "config": config,
            "corpus": corpus,
            "folds": folds,
            "audit": audit,
            "result": result,
            "uri": uri,
            "home": home,
        }


def test_every_cell_is_scored_once(benchmark_run):
    config, folds, result = benchmark_run["config"], benchmark_run["folds"], benchmark_run["result"]
    conditions = set(config.conditions)
    assert set(result.scores.condition) == conditions
    assert len(result.scores) == len(folds) * (1 + (len(conditions) - 1) * len(config.ratios))
    assert not result.scores.duplicated(["classifier", "condition", "ratio", "seed", "fold"]).any()
    assert set(result.table.condition) == conditions
    for condition in conditions - {"none"}:
        cells = result.scores[result.scores.condition == condition]
        assert (cells.n_extra > 0).all(), f"{condition}: no synthetic transcript reached training"
        assert (cells.n_extra <= cells.n_wanted).all()
    # generation's first round asks for `oversample` times what the largest ratio needs, per group and
    # style; each further round (only for a file short of passing records) at most as many again
    for fold in folds:
        group = group_key(fold.train_speakers)
        n_ad = sum(1 for t in benchmark_run["corpus"].by_speakers(fold.train_speakers) if t.label.value == "AD")
        records = (Path(config.run_dir()) / "synthetic" / group / "dpo-ad.jsonl").read_text().splitlines()
        first = math.ceil(math.ceil(max(config.ratios) * n_ad) * config.generation.oversample)
        assert first <= len(records) <= first * config.generation.max_rounds
    assert "What moved F1" in result.report.read_text()
    assert set(result.quality.condition) == conditions - {"none"}
    generated = result.quality[result.quality.condition.isin(["prompt-only", "sft", "dpo"])]
    assert (generated.rounds >= 1).all() and (generated.wanted > 0).all()


def test_every_cell_keeps_its_out_of_fold_predictions(benchmark_run):
    config, corpus, result = benchmark_run["config"], benchmark_run["corpus"], benchmark_run["result"]
    kept = load_predictions(Path(config.run_dir()) / PREDICTIONS, config.digest())
    for cell in result.scores.itertuples():
        rows = kept[
            (kept.classifier == cell.classifier)
            & (kept.condition == cell.condition)
            & (kept.ratio == cell.ratio)
            & (kept.seed == cell.seed)
            & (kept.fold == cell.fold)
        ]
        assert len(rows) == cell.n_test and set(rows.speaker_id) <= set(corpus.speakers())
        assert binary_metrics(rows.y_true, rows.p_ad)["f1"] == pytest.approx(cell.f1)


def test_kept_predictions_resume_to_the_last_write_of_each_cell(tmp_path):
    path = tmp_path / PREDICTIONS
    cell = {"classifier": "tfidf", "condition": "none", "ratio": 0.0}
    first = pd.DataFrame(
        [
            {
                "id": "007",
                "speaker_id": "S1",
                "seed": 0,
                "fold": 0,
                "y_true": 1,
                "p_ad": 0.2,
                **cell,
                "config_digest": "0123",
            }
        ]
    )
    first.to_csv(path, index=False)
    first.assign(p_ad=0.9).to_csv(path, mode="a", header=False, index=False)  # the cell scored again after a kill
    first.assign(config_digest="other").to_csv(path, mode="a", header=False, index=False)
    with path.open("a") as handle:
        handle.write("008,S2,0,0,1,0.7,tfidf,none,0.0,01")  # a line cut short by the kill
    kept = load_predictions(path, "0123")
    assert kept[["id", "p_ad"]].values.tolist() == [["007", 0.9]]


def test_a_digest_of_only_digits_reads_back_as_the_same_config(tmp_path):
    path = tmp_path / "scores.csv"
    pd.DataFrame(
        [
            {
                "classifier": "tfidf",
                "condition": "none",
                "ratio": 0.0,
                "seed": 0,
                "fold": 0,
                "f1": 0.5,
                "config_digest": "060811081482",
            }
        ]
    ).to_csv(path, index=False)
    assert len(load_scores(path, "060811081482")) == 1  # not the number 60811081482


def test_no_test_fold_speaker_reaches_any_training_data(benchmark_run):
    corpus, folds, audit, result = (benchmark_run[k] for k in ("corpus", "folds", "audit", "result"))
    all_speakers = set(corpus.speakers())
    train_sets = [frozenset(f.train_speakers) for f in folds]
    # generators, few-shot prompts and classic augmentation saw one fold's training speakers
    assert audit.generator_speakers and set(audit.generator_speakers.values()) <= set(train_sets)
    assert audit.prompt_pools and all(any(pool <= train for train in train_sets) for pool in audit.prompt_pools)
    assert audit.classic_inputs and all(seen in train_sets for seen in audit.classic_inputs)
    # every classifier fit: real training speakers are one fold's, and no synthetic transcript
    # descends from (was generated by a model trained on, or prompted with) a test speaker
    detector_fits = [f for f in audit.fits if f["real"] in train_sets]
    assert len(detector_fits) == len(result.scores)
    for fit in detector_fits:
        test_speakers = all_speakers - fit["real"]
        assert not fit["behind_synthetic"] & test_speakers, "synthetic data derived from a test speaker"
    assert {fit["real"] for fit in detector_fits} == set(train_sets)


def test_mlflow_holds_parent_children_plots_and_report(benchmark_run):
    from mlflow.tracking import MlflowClient

    config, corpus, result, uri = (benchmark_run[k] for k in ("config", "corpus", "result", "uri"))
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(config.experiment)
    runs = client.search_runs([experiment.experiment_id])
    parent = client.get_run(result.run_id)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.run_id]
    assert len(children) == len(result.table)
    assert parent.data.params["corpus_digest"] == corpus.digest()
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "report")}
    assert {"report/delta_f1.png", "report/report.html", "report/report.md", "report/scores.csv"} <= artifacts
    assert "corpus/read_report.txt" in {a.path for a in client.list_artifacts(result.run_id, "corpus")}
    assert parent.data.metrics["corpus_skipped_files"] == 0
    # the generation-quality report per condition and style, as `augment evaluate` writes it
    assert "report/quality.json" in artifacts
    assert 0 <= parent.data.metrics["quality/dpo/AD/pass_rate"] <= 1
    assert parent.data.metrics["generation/dpo/AD/wanted"] > 0
    dpo_child = next(r for r in children if r.info.run_name.startswith("tfidf-dpo"))
    assert len(client.get_metric_history(dpo_child.info.run_id, "f1")) == len(benchmark_run["folds"])
    assert 0 < dpo_child.data.metrics["synthetic_used"] <= dpo_child.data.metrics["synthetic_wanted"]


def test_the_kept_synthetic_records_are_exported_in_the_corpus_formats_and_read_back(benchmark_run):
    from mlflow.tracking import MlflowClient

    from augment.export import kept_transcripts
    from augment.synthetic import read_records

    config, result, uri = benchmark_run["config"], benchmark_run["result"], benchmark_run["uri"]
    run_dir = Path(config.run_dir())
    expected = {}  # (training set, condition) -> what passes the required filters and privacy
    for filtered in (run_dir / "synthetic").glob("*/*.filtered.jsonl"):
        kept = kept_transcripts(read_records(filtered), require=config.filters.require)
        if kept:
            expected[(filtered.parent.name, filtered.name.removesuffix(".filtered.jsonl"))] = {t.id: t for t in kept}
    # classic copies are edits of real training transcripts: they fail privacy and never leave
    assert expected and "classic" not in {condition for _, condition in expected}
    assert {(f.parent.name, f.name) for f in (run_dir / "export").glob("*/*")} == set(expected)
    for (key, condition), kept in expected.items():
        folder = run_dir / "export" / key / condition
        for corpus in (folder, folder / "synthetic.csv", folder / "synthetic.jsonl"):
            back = load_corpus(corpus)
            assert {t.id for t in back} == set(kept), corpus
            assert all((t.label, t.text) == (kept[t.id].label, kept[t.id].text) for t in back), corpus
    logged = {a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(result.run_id, "export")}
    assert {f"export/{key}" for key, _ in expected} <= logged


def _chromium_dom(url: str, profile) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=30000",
        "--dump-dom",
    ]
    return subprocess.run([chromium, *flags, url], capture_output=True, text=True, timeout=120).stdout


@contextmanager
def mlflow_server(*store: str) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port; yields its URL once /health answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            *store,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=2).read() == b"OK":
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("mlflow server did not come up within 120 s")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_mlflow_ui_opens_the_run_in_the_training_view_with_its_verdict_and_charts(benchmark_run, tmp_path):
    """The address the benchmark prints, in a fresh browser: the model-training view (not GenAI's
    "Evaluations"), the verdict as the run's description (Markdown: a table and the findings),
    and the forest plots among the artifacts."""
    from mlflow.tracking import MlflowClient

    from detect.tracking import NOTE_TAG, TRAINING_VIEW, run_url

    config, result, uri = benchmark_run["config"], benchmark_run["result"], benchmark_run["uri"]
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.get_experiment_by_name(config.experiment).experiment_id
    note = client.get_run(result.run_id).data.tags[NOTE_TAG]
    first_finding = next(line for line in note.splitlines() if line.startswith("- With the tfidf classifier"))
    with mlflow_server("--backend-store-uri", uri) as base:
        runs_page = _chromium_dom(f"{base}/#/experiments/{experiment_id}/runs{TRAINING_VIEW}", tmp_path / "a")
        assert f"benchmark-{config.name}" in runs_page
        run_page = _chromium_dom(run_url(result.run_id, ui=base), tmp_path / "b")
        assert f"{base}/#/experiments/{experiment_id}/runs/{result.run_id}" in run_url(result.run_id, ui=base)
        assert re.search(
            rf'data-testid="experiment-observatory-link-runs" href="#/experiments/{experiment_id}/runs"', run_page
        ), "the run page is not in the model-training view"
        assert "Evaluation runs" not in run_page  # the GenAI view's side bar
        description = run_page[run_page.index('data-testid="note-editor-preview-content"') :]
        assert "<table>" in description and "<th>ΔF1 [95% CI] p</th>" in description
        assert html.escape(first_finding.removeprefix("- ")[:60], quote=False) in description
        artifacts = {a.path for a in client.list_artifacts(result.run_id, "report")}
        assert {"report/delta_f1.png", "report/delta_brier.png", "report/description.md"} <= artifacts
        chart_page = _chromium_dom(
            f"{base}/#/experiments/{experiment_id}/runs/{result.run_id}/artifacts/report/delta_f1.png{TRAINING_VIEW}",
            tmp_path / "c",
        )
        assert 'alt="report/delta_f1.png"' in chart_page


def test_a_rerun_resumes_without_retraining_or_rescoring(benchmark_run):
    config, audit, uri = benchmark_run["config"], benchmark_run["audit"], benchmark_run["uri"]
    train_sets = [frozenset(f.train_speakers) for f in benchmark_run["folds"]]
    before = len(benchmark_run["result"].scores)
    audit.fits.clear()
    audit.generators_cached.clear()
    with pytest.MonkeyPatch.context() as monkeypatch:
        audit.install(monkeypatch)
        again = run_benchmark(config, tracking_uri=uri)
    assert len(again.scores) == before
    assert audit.generators_cached and all(audit.generators_cached), "a generator was trained again"
    assert [f for f in audit.fits if f["real"] in train_sets] == []


def _one_group_files(config, run_dir):
    """The first-round generation files of the first training group, with its (cached) generators."""
    from augment.synthesize import TrainingSet, generation_files
    from eval.augmentation import train_unit
    from eval.components import synthesis_config

    _, _, groups = plan(config)
    group = next(iter(groups.values()))
    train = TrainingSet(group.key, group.train, train_unit(config, group.key, group.train, run_dir))
    return generation_files(
        train, [c for c in config.conditions if c in GENERATED], run_dir / "synthetic", synthesis_config(config)
    )


def test_the_server_backend_completes_a_generation_file_like_the_in_process_engine(benchmark_run, tmp_path):
    """`generation.backend: server` stays a working path: it regenerates a deleted file to the same records."""
    from augment.generate import read_generation
    from augment.runner import placement
    from eval.augmentation import run_jobs
    from eval.components import generation_backend

    config = benchmark_run["config"]
    run_dir = tmp_path / "run"
    shutil.copytree(config.run_dir(), run_dir)
    jobs = [j for j in _one_group_files(config, run_dir) if j.source == "dpo" and j.job.style == "ad"]
    before = read_generation(jobs[0].job.out)
    jobs[0].job.out.unlink()
    server = dataclasses.replace(config, generation=dataclasses.replace(config.generation, backend="server"))
    assert placement(generation_backend(server, run_dir)).where == "server"
    seen = []
    run_jobs(server, jobs, run_dir, lambda stage, done, total: seen.append((done, total)))
    after = read_generation(jobs[0].job.out)
    assert seen[-1] == (1, 1)
    assert [r.id for r in after] == [r.id for r in before] and all(r.text for r in after)
    assert [(r.generator, r.sampling, r.prompt_hash) for r in after] == [
        (r.generator, r.sampling, r.prompt_hash) for r in before
    ]
    assert (run_dir / "logs").is_dir() and any((run_dir / "logs").glob("vllm-server-*.log"))


def test_a_benchmark_killed_with_sigkill_while_generating_leaves_no_vllm_process(benchmark_run, tiny_corpus, tmp_path):
    import psutil

    config = benchmark_run["config"]
    run_dir = tmp_path / "run"
    # without its scores: the copy's output_dir is part of its config digest, so they would not match
    shutil.copytree(config.run_dir(), run_dir, ignore=shutil.ignore_patterns("scores.csv", PREDICTIONS))
    victim = _one_group_files(config, run_dir)[-1].job.out
    victim.unlink()  # one file to generate again: the rerun starts a vLLM for it
    log = open(tmp_path / "benchmark.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eval.cli",
            "benchmark",
            "--config",
            "tiny",
            "--corpus",
            str(tiny_corpus),
            "--output-dir",
            str(run_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"},
    )
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if any("augment.lifeline" in _cmdline(p) for p in psutil.Process(proc.pid).children(recursive=True)):
                break
            time.sleep(0.5)
        assert proc.poll() is None, (tmp_path / "benchmark.log").read_text()[-3000:]
        time.sleep(5)  # let the vLLM process spawn what it spawns
        family = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(family, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    # zombies count as gone: an orphaned one waits for a PID 1 that reaps, and not every container has one
    survivors = living([p.pid for p in alive])
    for pid in survivors:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert survivors == [], "vLLM processes outlived the benchmark"


def _cmdline(process) -> str:
    """A process's command line, or "" if it went meanwhile (short-lived helpers come and go)."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


# -- the Ray executor: the same graph as Ray tasks on a local cluster ---------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    """A 2-CPU Ray cluster on this machine for this module.

    (Ray binds its node to the machine's own address even when asked for 127.0.0.1:
    ``ray._private.services.resolve_ip_for_localhost``.)
    """
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def _on_ray(benchmark_run, tmp_path, **update):
    """The tiny benchmark's config on the Ray executor, in a copy of its state folder without its
    scores: adapters and generation files are cached, so the run trains and generates nothing new
    and scores every cell again."""
    from eval.config_sections import ExecutorConfig

    config = benchmark_run["config"]
    run_dir = tmp_path / "run"
    shutil.copytree(
        config.run_dir(), run_dir, ignore=shutil.ignore_patterns("scores.csv", PREDICTIONS, "mlflow-run.json", "report")
    )
    return dataclasses.replace(config, **{"output_dir": run_dir, "executor": ExecutorConfig(kind="ray"), **update})


def _sorted(frame, keys):
    return frame.drop(columns="config_digest").sort_values(keys).reset_index(drop=True)


@pytest.mark.timeout(600)
def test_the_ray_executor_writes_the_scores_the_local_executor_wrote(benchmark_run, ray_cluster, tmp_path):
    config = _on_ray(benchmark_run, tmp_path)
    local = benchmark_run["result"]
    result = run_benchmark(config, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    pd.testing.assert_frame_equal(_sorted(result.scores, SCORE_KEYS), _sorted(local.scores, SCORE_KEYS))
    pd.testing.assert_frame_equal(result.table, local.table)
    keys = [*SCORE_KEYS, "id"]
    predictions = [
        _sorted(load_predictions(Path(c.run_dir()) / PREDICTIONS, c.digest()), keys)
        for c in (config, benchmark_run["config"])
    ]
    pd.testing.assert_frame_equal(*predictions)
    assert {"generators", "generation", "classic", "classifiers"} <= set(result.timings)


@pytest.mark.timeout(300)
def test_a_ray_worker_killed_in_a_cell_is_retried_and_nothing_is_lost_or_duplicated(
    benchmark_run, ray_cluster, tmp_path, monkeypatch
):
    from eval import executors
    from tests.eval.faults import KillOneCell

    config = _on_ray(benchmark_run, tmp_path, conditions=("none", "classic"))
    marker = tmp_path / "kill-one-cell"
    marker.touch()  # armed: the first cell to finish kills its worker before its result is returned
    monkeypatch.setattr(executors, "RayExecutor", functools.partial(KillOneCell, marker=marker))
    result = run_benchmark(config, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    assert not marker.exists(), "no worker was killed"
    scores = pd.read_csv(Path(config.run_dir()) / "scores.csv")
    assert len(scores) == len(benchmark_run["folds"]) * 2 and not scores.duplicated(SCORE_KEYS).any()
    predictions = pd.read_csv(Path(config.run_dir()) / PREDICTIONS)
    assert not predictions.duplicated([*SCORE_KEYS, "id"]).any()
    assert len(predictions) == scores.n_test.sum()
    local = benchmark_run["result"].scores
    pd.testing.assert_frame_equal(
        _sorted(result.scores, SCORE_KEYS), _sorted(local[local.condition.isin(config.conditions)], SCORE_KEYS)
    )


@pytest.mark.timeout(300)
def test_ray_workers_log_to_a_tracking_server_named_by_mlflow_tracking_uri(
    benchmark_run, ray_cluster, tmp_path, monkeypatch
):
    from mlflow.tracking import MlflowClient

    with mlflow_server(
        "--backend-store-uri",
        f"sqlite:///{tmp_path}/server.db",
        "--serve-artifacts",
        "--artifacts-destination",
        str(tmp_path / "served"),
    ) as uri:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        config = _on_ray(benchmark_run, tmp_path, conditions=("none", "classic"))
        result = run_benchmark(config)
        client = MlflowClient(uri)
        run = client.get_run(result.run_id)
        assert run.info.status == "FINISHED"
        # each cell task logged its wall time from its worker, which knew the server from the variable
        assert len(client.get_metric_history(result.run_id, "task_seconds/cell")) == len(result.scores)
        assert len(client.get_metric_history(result.run_id, "task_seconds/classic")) == len(
            {group_key(f.train_speakers) for f in benchmark_run["folds"]}
        )
        assert "report/report.html" in {a.path for a in client.list_artifacts(result.run_id, "report")}
        assert list((tmp_path / "served").rglob("report.html")), "artifacts did not go through the server"


@pytest.mark.timeout(600)
def test_ray_generation_workers_complete_a_round_on_ray_tasks(benchmark_run, ray_cluster, tmp_path, caplog):
    """`generation_workers`: a round's unfinished files dealt to Ray tasks, each with a vLLM of its own
    (one per GPU on a GPU cluster; here a CPU task), completing the records the driver wrote.
    How files are dealt to several workers is tested without a model (test_generation_rounds.py)."""
    from augment.generate import read_generation
    from eval.config_sections import ExecutorConfig, TaskResources

    config = _on_ray(
        benchmark_run,
        tmp_path,
        conditions=("none", "dpo"),
        executor=ExecutorConfig(kind="ray", generation_workers=2, generate=TaskResources(num_cpus=1)),
    )
    synthetic = Path(config.run_dir()) / "synthetic"
    victim = sorted(synthetic.glob("*/dpo-hc.jsonl"))[0]
    before = read_generation(victim)
    victim.unlink()
    with caplog.at_level(logging.INFO, logger="eval.augmentation"):
        result = run_benchmark(config, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    after = read_generation(victim)
    assert [(r.id, r.generator, r.sampling, r.prompt_hash) for r in after] == [
        (r.id, r.generator, r.sampling, r.prompt_hash) for r in before
    ] and all(r.text for r in after)
    workers = [r.getMessage() for r in caplog.records if "completed on" in r.getMessage()]
    assert workers and all(f"(pid {os.getpid()})" not in said for said in workers), workers
    assert len(result.scores) == 2 * len(benchmark_run["folds"])
