"""Repeats vary what is random in augmentation: each draws its own synthetic subset from a pool larger
than one ratio's need, and its own reserve transcripts, nested across ratios; a rerun draws the same."""

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
            :per_class]
    path = tmp_path_factory.mktemp("corpus") / "small.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "speaker_id", "label", "text", "split"])
        writer.writerows([t.id, t.speaker_id, t.label.value, t.verbatim, t.split] for t in chosen)
    return path


def repeats_config(tmp_path, name: str, **overrides):
    return load_config("controls", output_dir=str(tmp_path / name), tracking={"system_metrics": False},
                       **{"protocol": {"split": "adress", "repeats": 2, "seed": 0, "reserve": 0.4, "pool": 2.0},
                          "conditions": ["none", "classic"], "ratios": [0.25, 0.5], "classifiers": ["tfidf"],
                          **overrides})


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


def test_two_repeats_of_a_cell_train_on_different_synthetic_records_and_a_rerun_reproduces_both(
        tmp_path, monkeypatch, small_corpus):
    seen = []
    for name in ("first", "rerun"):
        with monkeypatch.context() as patch:
            recorder = SyntheticSeen(patch)
            run_benchmark(repeats_config(tmp_path, name, corpus=str(small_corpus)),
                          tracking_uri=f"sqlite:///{tmp_path}/{name}.db")
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
    config = repeats_config(tmp_path, "kfold", protocol={"split": split, "folds": 3, "repeats": 2, "seed": 0,
                                                          "reserve": 0.4})
    corpus, folds, _ = plan(config)
    speakers = set(corpus.speakers())
    assert speakers >= set(corpus.by_split("train").speakers()) | set(corpus.by_split("test").speakers())
    for seed in (0, 1):
        tested = [s for fold in folds if fold.seed == seed for s in fold.test_speakers]
        if split == "cv":
            assert sorted(tested) == sorted(speakers), "every speaker of both splits tested once per repeat"
        else:
            assert set(tested) == set(corpus.by_split("test").speakers())
