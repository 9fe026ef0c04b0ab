"""Information units and linguistic markers on hand-checked sentences (real spaCy model)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import spacy

from detect.info_units import (
    ACTIONS,
    CATEGORIES,
    ENTITIES,
    EXAMPLES,
    INFO_UNITS,
    find_info_units,
)
from detect.markers import (
    MARKERS,
    PIPES,
    MarkerExtractor,
    load_pipeline,
    marker_means_by_label,
    mattr,
)
from detect.records import Disfluencies, Label, Transcript


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline()


def _t(tid: str, text: str, label: Label | None = Label.HC, **kw) -> Transcript:
    return Transcript(id=tid, speaker_id=tid, label=label, text=text, **kw)


# -- information units --------------------------------------------------------------------------


def test_lexicon_has_23_units_in_four_categories():
    assert len(INFO_UNITS) == 23
    assert set(INFO_UNITS) == set(ENTITIES) | set(ACTIONS)
    assert {CATEGORIES[u] for u in INFO_UNITS} == {"subject", "place", "object", "action"}
    assert [u for u in INFO_UNITS if CATEGORIES[u] == "subject"] == ["boy", "girl", "woman"]
    assert len(ACTIONS) == 6


@pytest.mark.parametrize("unit", INFO_UNITS)
def test_each_unit_is_found_in_its_example(unit, nlp):
    assert unit in find_info_units(EXAMPLES[unit], nlp=nlp)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The boy is on the stool.", {"boy", "stool"}),
        ("He took it from the jar.", {"jar", "boy_taking_cookies"}),
        ("The mum is drying dishes with a rag.", {"woman", "dishes", "dishcloth", "woman_washing"}),
        ("There is a dish towel and a cookie jar.", {"dishcloth", "cookie", "jar"}),  # not "dishes"
        ("The water is on the floor.", {"water", "water_overflowing"}),
        ("The sink is overflowing.", {"sink", "water_overflowing"}),
        ("The little girl is saying shh.", {"girl", "girl_reaching"}),
        ("The girl wants to get a cookie.", {"girl", "cookie", "girl_reaching"}),  # her wish, not the theft
        ("The lady pays no attention.", {"woman", "woman_not_noticing"}),
        ("Mom is daydreaming.", {"woman", "woman_not_noticing"}),
        ("Outside in the yard the curtains are blowing.", {"exterior", "curtains"}),
        ("The kid is falling off the stool.", {"boy", "stool", "stool_tipping"}),
        ("the stool's going over any second.", {"stool", "stool_tipping"}),
        ("the floor is getting wet.", {"water_overflowing"}),
        ("the daughter has a finger on her lips.", {"girl", "girl_reaching"}),
        ("the girl has a hand out for a couple of cookies.", {"girl", "cookie", "girl_reaching"}),
        # the small parser cuts this after "stool"; nearby words still anchor "fall"
        (
            "the boy is on a kitchen stool and it's going to fall in a second.",
            {"boy", "kitchen", "stool", "stool_tipping"},
        ),
    ],
)
def test_units_of_hand_checked_sentences(text, expected, nlp):
    assert find_info_units(text, nlp=nlp) == expected


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("I don't know what it is.", "woman_not_noticing"),  # the speaker, not the mother
        ("The girl is taking a cookie.", "boy_taking_cookies"),
        ("She is holding a plate.", "girl_reaching"),  # "she" holding a plate is the mother
        ("The boy has a hand in the cookie jar.", "girl_reaching"),
        ("The boy is washing his hands.", "woman_washing"),
        ("She notices the water.", "woman_not_noticing"),  # not negated
        ("The boy is on the stool. The mother is washing the dishes.", "stool_tipping"),
    ],
)
def test_no_false_alarm(text, absent, nlp):
    assert absent not in find_info_units(text, nlp=nlp)


def test_find_info_units_takes_a_doc_or_text(nlp):
    doc = nlp("The boy is on the stool.")
    assert find_info_units(doc) == find_info_units("The boy is on the stool.", nlp=nlp) == {"boy", "stool"}
    assert doc._.info_units == ("boy", "stool")  # the cb_info_units component, in INFO_UNITS order
    assert find_info_units("", nlp=nlp) == set()


# -- markers on hand-checked sentences ------------------------------------------------------------


def test_pronoun_sentence(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("He took it from the jar.")
    assert m["words"] == 6 and m["unique_words"] == 6
    assert m["pronoun_ratio"] == pytest.approx(2 / 3)  # he, it / (he, it, jar)
    assert m["noun_rate"] == pytest.approx(1 / 6)
    assert m["verb_rate"] == pytest.approx(1 / 6)  # took
    assert m["idea_density"] == pytest.approx(2 / 6)  # took, from
    assert m["iu_count"] == 2 and m["iu_coverage"] == pytest.approx(2 / 23)
    assert m["mattr"] == 1.0  # 6 distinct words, shorter than the window: plain TTR
    assert m["mean_utterance_length"] == 6.0  # one spaCy sentence


def test_copula_and_repeated_words(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("the boy is on the stool")
    assert (m["words"], m["unique_words"]) == (6, 5)  # "the" twice
    assert m["mattr"] == pytest.approx(5 / 6)
    assert m["pronoun_ratio"] == 0.0
    assert m["noun_rate"] == pytest.approx(2 / 6)
    assert m["verb_rate"] == pytest.approx(1 / 6)  # the copula "is"
    assert m["idea_density"] == pytest.approx(2 / 6)  # is, on


def test_auxiliaries_and_particles_are_not_propositions(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("The old mother is washing the dishes and the water is running over.")
    assert m["words"] == 13
    assert m["noun_rate"] == pytest.approx(3 / 13)  # mother, dishes, water
    assert m["verb_rate"] == pytest.approx(2 / 13)  # washing, running; both "is" are auxiliaries
    assert m["idea_density"] == pytest.approx(4 / 13)  # old, washing, and, running; "over" is a particle
    assert m["iu_count"] == 5  # woman, dishes, water, woman_washing, water_overflowing


def test_conjunction_adjectives_and_pronoun(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("She is drying a big plate because the sink is full.")
    assert m["words"] == 11
    assert m["pronoun_ratio"] == pytest.approx(1 / 3)  # she / (she, plate, sink)
    assert m["verb_rate"] == pytest.approx(2 / 11)  # drying, copula "is"
    assert m["idea_density"] == pytest.approx(5 / 11)  # drying, big, because, is, full


def test_existential_there_is_not_a_pronoun(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("There is a jar.")
    assert m["pronoun_ratio"] == 0.0


def test_mean_utterance_length_prefers_chat_utterances(nlp):
    extractor = MarkerExtractor(nlp=nlp)
    text = "The boy falls. The girl laughs. The water runs."  # 9 words, 3 spaCy sentences
    assert extractor.transform_one(text)["mean_utterance_length"] == 3.0
    with_utts = _t("a", text, utterances=("the boy falls .", "the girl laughs the water runs ."))
    assert extractor.transform_one(with_utts)["mean_utterance_length"] == 4.5


def test_disfluency_rates_divide_chat_counts_by_words(nlp):
    t = _t(
        "d",
        "the boy is taking a cookie from the jar now",  # 10 words
        disfluencies=Disfluencies(
            fillers=2, retracings=1, pauses=1, unintelligible=0, trailing_offs=1, fragments=3, utterances=1
        ),
    )
    row = MarkerExtractor(nlp=nlp).transform([t]).loc["d"]
    assert row["filler_rate"] == pytest.approx(0.2)
    assert row["retracing_rate"] == pytest.approx(0.1)
    assert row["pause_rate"] == pytest.approx(0.1)
    assert row["unintelligible_rate"] == 0.0
    assert row["trailing_off_rate"] == pytest.approx(0.1)
    assert row["disfluency_rate"] == pytest.approx(0.5)  # fragments are not in the sum


def test_text_without_words_gives_zeros(nlp):
    m = MarkerExtractor(nlp=nlp).transform_one("")
    assert set(m) == set(MARKERS) and all(v == 0.0 for v in m.values())


# -- MATTR -----------------------------------------------------------------------------------------


def _naive_mattr(words, window):
    if len(words) <= window:
        return len(set(words)) / len(words)
    spans = [words[i : i + window] for i in range(len(words) - window + 1)]
    return sum(len(set(s)) / window for s in spans) / len(spans)


def test_mattr_by_hand():
    assert mattr(["a", "a", "b", "b"], window=2) == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert mattr(["a", "b", "a", "b"], window=2) == 1.0
    assert mattr(["a", "a", "b"], window=20) == pytest.approx(2 / 3)  # shorter: plain TTR
    assert mattr([], window=20) == 0.0


def test_mattr_sliding_count_matches_naive_definition():
    rng = random.Random(0)
    for _ in range(50):
        words = [rng.choice("abcdefghij") for _ in range(rng.randint(1, 60))]
        window = rng.randint(1, 25)
        assert mattr(words, window) == pytest.approx(_naive_mattr(words, window))


def test_mattr_window_20_on_a_text(nlp):
    text = " ".join(["the boy"] * 10 + ["and the girl"] * 5)  # 35 words, 4 types
    words = text.split()
    assert MarkerExtractor(nlp=nlp).transform_one(text)["mattr"] == pytest.approx(_naive_mattr(words, 20))


# -- components, frames, cache ---------------------------------------------------------------------


def test_components_are_registered_and_guard_missing_annotations(nlp):
    assert all(name in nlp.pipe_names for name in PIPES)
    blank = spacy.blank("en")
    blank.add_pipe("cb_word_counts")
    blank.add_pipe("cb_pos_counts")
    doc = blank("the boy is on the stool")
    assert doc._.word_count == 6
    assert doc._.pos_counts is None  # no tagger: left untouched


TEXTS = [
    "The boy is on the stool and he is taking cookies from the jar.",
    "She is drying a plate. The water is running over the sink onto the floor.",
    "I don't know. The girl. Cookies.",
    "the mother the mother is there and the kids the kids are getting cookies.",
    "Outside the window there is a garden, and the curtains are open.",
    "It's a kitchen. The lady doesn't notice the water on the floor.",
    "the little girl is asking for one and saying shh.",
    "",
]


def test_transform_frame_shape(nlp):
    transcripts = [_t(f"t{i}", text) for i, text in enumerate(TEXTS)]
    frame = MarkerExtractor(nlp=nlp).transform(transcripts)
    assert list(frame.columns) == list(MARKERS)
    assert list(frame.index) == [t.id for t in transcripts] and frame.index.name == "id"
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.loc["t7"].sum() == 0.0


def test_batched_equals_one_at_a_time(nlp):
    transcripts = [_t(f"t{i}", text) for i, text in enumerate(TEXTS)]
    batched = MarkerExtractor(nlp=nlp, batch_size=3).transform(transcripts)
    single = MarkerExtractor(nlp=nlp)
    one_by_one = pd.DataFrame([single.transform_one(t) for t in transcripts], index=batched.index)
    pd.testing.assert_frame_equal(batched, one_by_one[list(MARKERS)], check_exact=False, rtol=1e-12)


def test_second_pass_does_not_call_spacy(nlp):
    extractor = MarkerExtractor(nlp=nlp)
    transcripts = [_t(f"t{i}", text) for i, text in enumerate(TEXTS)]
    first = extractor.transform(transcripts)
    assert extractor.docs_processed == len(set(TEXTS))
    again = extractor.transform(transcripts)
    assert extractor.docs_processed == len(set(TEXTS))
    pd.testing.assert_frame_equal(first, again)


def test_same_text_is_parsed_once(nlp):
    extractor = MarkerExtractor(nlp=nlp)
    frame = extractor.transform([_t("a", TEXTS[0]), _t("b", TEXTS[0], utterances=("one", "two"))])
    assert extractor.docs_processed == 1
    # the cache holds only what the text gives; utterances still differ per transcript
    assert frame.loc["a", "mean_utterance_length"] != frame.loc["b", "mean_utterance_length"]


def test_disk_cache_survives_a_new_extractor(nlp, tmp_path):
    transcripts = [_t(f"t{i}", text) for i, text in enumerate(TEXTS)]
    first = MarkerExtractor(nlp=nlp, cache_dir=tmp_path).transform(transcripts)
    assert (tmp_path / "markers.sqlite").is_file()
    fresh = MarkerExtractor(nlp=nlp, cache_dir=tmp_path)
    second = fresh.transform(transcripts)
    assert fresh.docs_processed == 0
    pd.testing.assert_frame_equal(first, second)


def test_marker_means_by_label(nlp):
    corpus = [
        _t("a1", "the boy", Label.AD),
        _t("a2", "the boy is here", Label.AD),
        _t("h1", "the boy is on the stool", Label.HC),
        _t("h2", "the girl is on the stool now", Label.HC),
    ]
    means = marker_means_by_label(corpus, MarkerExtractor(nlp=nlp))
    assert list(means.index) == ["AD", "HC"]
    assert list(means.columns) == list(MARKERS)
    assert means.loc["AD", "words"] == pytest.approx(3.0)  # (2 + 4) / 2
    assert means.loc["HC", "words"] == pytest.approx(6.5)  # (6 + 7) / 2


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        MarkerExtractor(batch_size=0)
