"""The benchmark's design: repeats vary what is random in augmentation (each draws its own synthetic
subset from a pool larger than one ratio's need, and its own reserve transcripts, nested across
ratios; a rerun draws the same), K-fold tests every speaker once, and the low-resource protocol runs
every fold at several training sizes."""

from __future__ import annotations

import csv

import pytest

from detect import cv
from detect.readers import load_corpus
from eval.benchmark import run_benchmark
from eval.cells import draw_extras, pool_of
from eval.config import load_config
from eval.plan import plan


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """A slice of the simulated cohort in its ADReSS split as CSV: 32 training and 16 test speakers."""
    cohort = load_corpus()
    chosen = []
    for split, per_class in (("train", 16), ("test", 8)):
        part = cohort.by_split(split)
        chosen += [t for t in part if t.label.value == "AD"][:per_class] + [t for t in part if t.label.value == "HC"][
            :per_class
        ]
    path = tmp_path_factory.mktemp("corpus") / "small.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "speaker_id", "label", "text", "split"])
        writer.writerows([t.id, t.speaker_id, t.label.value, t.verbatim, t.split] for t in chosen)
    return path


def repeats_config(tmp_path, name: str, **overrides):
    return load_config(
        "controls",
        output_dir=str(tmp_path / name),
        tracking={"system_metrics": False},
        **{
            "protocol": {"split": "adress", "repeats": 2, "seed": 0, "reserve": 0.4, "pool": 2.0},
            "conditions": ["none", "classic"],
            "ratios": [0.25, 0.5],
            "classifiers": ["tfidf"],
            **overrides,
        },
    )


class SyntheticSeen:
    """The synthetic transcripts each fitted detector trained on, by (seed, number of extras)."""

    def __init__(self, monkeypatch):
        self.fits: dict[tuple[int, int], tuple[str, ...]] = {}
        real_make = cv.make_detector

        def make_detector(name, options=None, **overrides):
            detector = real_make(name, options, **overrides)
            fit = detector.fit

            def recording_fit(X, y=None):
                synthetic = tuple(sorted(t.id for t in X if t.is_synthetic))
                if synthetic:
                    self.fits[(overrides["seed"], len(synthetic))] = synthetic
                return fit(X, y)

            detector.fit = recording_fit
            return detector

        monkeypatch.setattr(cv, "make_detector", make_detector)


@pytest.mark.slow
def test_two_repeats_of_a_cell_train_on_different_synthetic_records_and_a_rerun_reproduces_both(
    tmp_path, monkeypatch, small_corpus
):
    seen = []
    for name in ("first", "rerun"):
        with monkeypatch.context() as patch:
            recorder = SyntheticSeen(patch)
            run_benchmark(
                repeats_config(tmp_path, name, corpus=str(small_corpus)), tracking_uri=f"sqlite:///{tmp_path}/{name}.db"
            )
        seen.append(recorder.fits)
    first, rerun = seen
    assert first == rerun, "a rerun draws the same synthetic records for every cell"
    sizes = sorted({n for _, n in first})
    assert len(sizes) == 2 and set(first) == {(seed, n) for seed in (0, 1) for n in sizes}
    for n in sizes:
        assert first[(0, n)] != first[(1, n)], "each repeat draws its own subset"
    for seed in (0, 1):
        assert set(first[(seed, sizes[0])]) < set(first[(seed, sizes[1])]), "a repeat's ratios nest"


def test_each_repeat_draws_its_own_reserve_transcripts_and_flipped_adds_the_same_ones(tmp_path):
    config = repeats_config(tmp_path, "plan", conditions=["none", "real", "flipped"])
    _, _, groups = plan(config)
    (group,) = groups.values()
    first, second = group.folds
    assert (first.seed, second.seed) == (0, 1)

    def drawn(condition, ratio, fold):
        return [t.id for t in draw_extras(group.train, pool_of(group, condition), condition, ratio, fold)[0]]

    real = {fold.seed: drawn("real", 0.5, fold) for fold in group.folds}
    assert set(real[0]) != set(real[1])
    assert drawn("real", 0.5, first) == real[0], "the same fold and repeat draw the same"
    assert set(drawn("real", 0.25, second)) < set(real[1])
    assert [i.removesuffix("~flipped") for i in drawn("flipped", 0.5, second)] == real[1]


@pytest.mark.parametrize("split", ["cv", "adress"])
def test_kfold_over_an_adress_layout_tests_every_speaker_once_per_repeat(tmp_path, split):
    config = repeats_config(
        tmp_path, "kfold", protocol={"split": split, "folds": 3, "repeats": 2, "seed": 0, "reserve": 0.4}
    )
    corpus, folds, _ = plan(config)
    speakers = set(corpus.speakers())
    assert speakers >= set(corpus.by_split("train").speakers()) | set(corpus.by_split("test").speakers())
    for seed in (0, 1):
        tested = [s for fold in folds if fold.seed == seed for s in fold.test_speakers]
        if split == "cv":
            assert sorted(tested) == sorted(speakers), "every speaker of both splits tested once per repeat"
        else:
            assert set(tested) == set(corpus.by_split("test").speakers())


# -- the low-resource protocol: training sizes ---------------------------------------------------


def test_each_size_cuts_the_base_stratified_and_nested_with_a_group_of_its_own_and_the_same_reserve(tmp_path):
    config = repeats_config(
        tmp_path,
        "sizes",
        conditions=["none", "real"],
        protocol={"split": "adress", "repeats": 2, "seed": 0, "reserve": 0.4, "sizes": [32, 16]},
    )
    corpus, folds, groups = plan(config)
    labels = corpus.speaker_labels()
    assert config.protocol.sizes == (16, 32)
    assert [f.size for f in folds] == [16, 16, 32, 32, 0, 0], "smallest first, the whole base last"
    by_size = {f.size: f for f in folds}
    whole = set(by_size[0].train_speakers)
    assert set(by_size[16].train_speakers) < set(by_size[32].train_speakers) < whole
    for size in (16, 32):
        cut = by_size[size].train_speakers
        assert len(cut) == size and sum(labels[s].value == "AD" for s in cut) == size // 2
    assert len(groups) == 3, "one set of generators per size, trained on that cut alone"
    assert {frozenset(g.train.speakers()) for g in groups.values()} == {frozenset(f.train_speakers) for f in folds}
    assert len({tuple(t.id for t in g.reserve) for g in groups.values()}) == 1, "every size draws on one reserve"
    again = plan(config)[1]
    assert [f.train_speakers for f in again] == [f.train_speakers for f in folds], "seeded: a rerun cuts the same"


def test_a_size_not_below_the_base_is_left_out_with_a_warning_and_one_below_four_is_an_error(tmp_path, caplog):
    from detect.errors import ConfigError

    _, folds, _ = plan(repeats_config(tmp_path, "big", protocol={"split": "adress", "reserve": 0.4, "sizes": [16, 80]}))
    assert {f.size for f in folds} == {16, 0}
    assert "protocol.sizes: 80 left out: not below the smallest base of 64 training speakers" in caplog.text
    with pytest.raises(ConfigError, match=r"protocol.sizes.*>= 4"):
        repeats_config(tmp_path, "small", protocol={"sizes": [2]})


@pytest.mark.slow
def test_the_low_resource_protocol_tables_plots_and_logs_each_size(tmp_path, small_corpus):
    from mlflow.tracking import MlflowClient

    from eval.analysis import format_table, mde_lines, sentences
    from eval.state import SCORE_KEYS

    config = repeats_config(
        tmp_path,
        "lowresource",
        corpus=str(small_corpus),
        conditions=["none", "real"],
        ratios=[1.0],
        protocol={"split": "adress", "repeats": 2, "seed": 0, "reserve": 0.4, "sizes": [8]},
    )
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = run_benchmark(config, tracking_uri=uri)
    assert not result.scores.duplicated(SCORE_KEYS).any() and set(result.scores["size"]) == {8, 0}
    table = result.table
    assert list(zip(table["size"], table.condition, strict=True)) == [
        (8, "none"),
        (8, "real"),
        (0, "none"),
        (0, "real"),
    ]
    assert (table.base_transcripts.iloc[0], table.base_transcripts.iloc[2]) == (8, 19)
    assert format_table(table)["base"].tolist() == ["8", "8", "all", "all"]
    assert any("on 8 base speakers" in line for line in mde_lines(table))
    assert sum("on all base speakers" in s for s in sentences(table)) == 1
    assert (result.report.parent / "size_curve.png").stat().st_size > 0
    client = MlflowClient(uri)
    children = client.search_runs(
        [client.get_run(result.run_id).info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert sorted(c.info.run_name for c in children) == [
        "tfidf-none",
        "tfidf-none-n8",
        "tfidf-real-x1",
        "tfidf-real-x1-n8",
    ]
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "report")}
    assert "report/size_curve.png" in artifacts
