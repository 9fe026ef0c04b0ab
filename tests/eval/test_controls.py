"""The instrument's controls and its MLflow run's life, on the simulated cohort without generators.

`real` (held-back real transcripts) must help, `flipped` (the same transcripts, wrong label)
must hurt, and the benchmark's own statistics must say so; the reserve they draw on never
reaches a generator or a base training set. A benchmark that dies leaves a FAILED run that
its resume continues.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.records import Label
from eval import benchmark
from eval.benchmark import run_benchmark
from eval.cells import draw_extras, pool_of
from eval.config import load_config
from eval.plan import plan
from eval.results import BenchmarkError
from eval.state import SCORE_KEYS

CONTROLS = {"conditions": ["none", "real", "flipped"], "classifiers": ["tfidf", "majority"], "ratios": [0.25, 0.5]}


def controls_config(tmp_path, **protocol):
    return load_config(
        "demo",
        output_dir=str(tmp_path / "run"),
        **CONTROLS,
        protocol={"split": "adress", "repeats": 2, "seed": 0, "reserve": 0.4, **protocol},
        tracking={"system_metrics": False},
    )


def extras_for(group, condition: str, ratio: float, fold=None):
    """What a cell of this group, condition and ratio (on its first fold) adds to its training set."""
    return draw_extras(group.train, pool_of(group, condition), condition, ratio, fold or group.folds[0])[0]


def test_a_reserve_that_cannot_be_stratified_is_a_one_line_error():
    from detect.readers import load_corpus
    from eval.plan import split_reserve

    corpus = load_corpus()
    labels = corpus.speaker_labels()
    one_hc = (
        *sorted(s for s in labels if labels[s] == Label.AD)[:5],
        next(s for s in sorted(labels) if labels[s] == Label.HC),
    )
    with pytest.raises(BenchmarkError, match=r"protocol.reserve 0.4: .* 6 training speakers \(AD 5, HC 1\)") as caught:
        split_reserve(corpus, one_hc, 0.4, seed=0)
    assert "\n" not in str(caught.value) and "lower protocol.reserve" in str(caught.value)


def test_the_reserve_is_stratified_and_held_out_of_every_base(tmp_path):
    corpus, folds, groups = plan(controls_config(tmp_path))
    assert len(groups) == 1, "the fixed split over seeds keeps one base, so one set of generators"
    group = next(iter(groups.values()))
    base, reserve = set(group.train.speakers()), {t.speaker_id for t in group.reserve}
    train = set(corpus.by_split("train").speakers())
    assert base | reserve == train and not base & reserve
    assert all(set(f.train_speakers) == base and not set(f.test_speakers) & reserve for f in folds)
    labels = corpus.speaker_labels()
    share_ad = sum(labels[s] == Label.AD for s in reserve) / len(reserve)
    assert abs(share_ad - sum(labels[s] == Label.AD for s in train) / len(train)) < 0.05
    assert abs(len(reserve) / len(train) - 0.4) < 0.02


def test_kfold_reserves_come_from_each_fold_s_own_training_speakers(tmp_path):
    _, _, groups = plan(controls_config(tmp_path, split="cv", folds=3, repeats=1))
    assert len(groups) == 3
    for group in groups.values():
        (fold,) = group.folds
        assert not {t.speaker_id for t in group.reserve} & (set(fold.train_speakers) | set(fold.test_speakers))


def test_real_adds_reserve_transcripts_and_flipped_the_same_ones_mislabelled(tmp_path):
    _, _, groups = plan(controls_config(tmp_path))
    group = next(iter(groups.values()))
    reserve = {t.id: t for t in group.reserve}
    real, flipped = extras_for(group, "real", 0.5), extras_for(group, "flipped", 0.5)
    wanted = {label: round(0.5 * len(group.train.by_label(label)) + 0.49) for label in Label}
    assert {label: sum(t.label == label for t in real) for label in Label} == wanted
    assert all(t.id in reserve and t.label == reserve[t.id].label and t.source.condition == "real" for t in real)
    assert [t.text for t in flipped] == [t.text for t in real]
    assert all(
        f.label != r.label and f.id != r.id and f.source.parent_ids == (r.id,)
        for f, r in zip(flipped, real, strict=True)
    )
    smaller = extras_for(group, "real", 0.25)
    assert {t.id for t in smaller} < {t.id for t in real}, "ratios take nested sets"


def test_controls_need_a_reserve(tmp_path):
    from detect.errors import ConfigError

    with pytest.raises(ConfigError, match=r"protocol\.reserve"):
        load_config("tiny", conditions=["none", "real"])


@pytest.mark.slow
def test_the_controls_profile_shows_a_significant_gain_for_real_and_a_significant_loss_for_flipped(tmp_path):
    config = load_config("controls", output_dir=str(tmp_path / "run"), tracking={"system_metrics": False})
    result = run_benchmark(config, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    table = result.table.set_index(["classifier", "condition", "ratio"])
    largest = max(config.ratios)
    # the positive control: 8x more real data makes both detectors' P(AD) significantly better by the
    # Brier score, the table's threshold-free statistic (with each repeat drawing its own reserve
    # transcripts: TF-IDF -0.021, p 0.001; markers -0.056, p 0.03; in F1 markers +0.12, p 0.17)
    for classifier in ("tfidf", "markers"):
        real = table.loc[(classifier, "real", largest)]
        assert real.delta_brier_high < 0 and real.p_brier < 0.05, real
    for classifier in ("tfidf", "markers"):
        for ratio in config.ratios:
            flipped = table.loc[(classifier, "flipped", ratio)]
            assert flipped.delta_f1 < 0 and table.loc[(classifier, "real", ratio)].delta_f1 > flipped.delta_f1
        # With real lexical spread in the cohort, 2x flipped transcripts on an ~11-speaker base may
        # hurt without an interval that excludes 0 at 48 test speakers (markers: -0.14, p 0.10); 8x must.
        flipped = table.loc[(classifier, "flipped", largest)]
        assert flipped.delta_f1_high < 0 and flipped.p_f1 < 0.05, flipped
        assert table.loc[(classifier, "real", largest)].delta_f1 > flipped.delta_f1_high
    assert table.loc[("majority", "real", 8.0)].delta_f1 == 0  # it reads no text, and real keeps the class balance
    assert "real_equivalent_text" in result.table


@pytest.mark.slow
def test_a_benchmark_that_dies_leaves_a_failed_run_and_its_resume_continues_it(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    config = controls_config(tmp_path)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    real_score = benchmark.score_cell
    calls = []

    def dies_on_the_fourth_cell(*args, **kwargs):
        calls.append(args)
        if len(calls) == 4:
            raise RuntimeError("injected: the machine went away")
        return real_score(*args, **kwargs)

    monkeypatch.setattr(benchmark, "score_cell", dies_on_the_fourth_cell)
    with pytest.raises(RuntimeError, match="injected"):
        run_benchmark(config, tracking_uri=uri)
    client = MlflowClient(uri)
    (failed,) = client.search_runs([client.get_experiment_by_name(config.experiment).experiment_id])
    assert failed.info.status == "FAILED"
    done = [
        m
        for k in failed.data.metrics
        if k.startswith("cell_f1/")
        for m in client.get_metric_history(failed.info.run_id, k)
    ]
    assert len(done) == 3 and "corpus/read_report.txt" in {
        a.path for a in client.list_artifacts(failed.info.run_id, "corpus")
    }
    assert "synthetic_samples.json" not in {a.path for a in client.list_artifacts(failed.info.run_id)}

    monkeypatch.setattr(benchmark, "score_cell", real_score)
    resumed = run_benchmark(config, tracking_uri=uri)
    assert resumed.run_id == failed.info.run_id
    run = client.get_run(resumed.run_id)
    assert run.info.status == "FINISHED"
    cells = len(config.classifiers) * (1 + 2 * len(config.ratios)) * config.protocol.repeats
    assert len(resumed.scores) == cells and not resumed.scores.duplicated(SCORE_KEYS).any()
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(children) == len(resumed.table)

    # The same state folder under an edited config is refused before any work, in one line naming it.
    run_dir = Path(config.run_dir())
    kept = (run_dir / "config.json").read_text()
    with pytest.raises(BenchmarkError, match=f"different config; .* delete {run_dir} to start over"):
        run_benchmark(controls_config(tmp_path, repeats=1), tracking_uri=uri)
    assert (run_dir / "config.json").read_text() == kept
    assert len(client.search_runs([run.info.experiment_id])) == 1 + len(children)  # no new MLflow run
