import pytest

from detect.records import Corpus, Label, Source, Transcript


def t(id, speaker, label="AD", **kw):
    return Transcript(id=id, speaker_id=speaker, label=label, text=f"text of {id}.", **kw)


def test_speaker_helpers():
    corpus = Corpus([t("a1", "a"), t("a2", "a"), t("b1", "b", "HC"), t("c1", "c", None)])
    assert corpus.speakers() == ["a", "b", "c"]
    assert corpus.speaker_labels() == {"a": Label.AD, "b": Label.HC, "c": None}
    assert [x.id for x in corpus.by_speakers(["a"])] == ["a1", "a2"]
    assert len(corpus.labelled()) == 3
    with pytest.raises(ValueError, match="no label"):
        corpus.y()
    assert corpus.labelled().y() == [1, 1, 0]


def test_digest_ignores_order_but_not_content():
    a = Corpus([t("x", "1"), t("y", "2", "HC")])
    b = Corpus([t("y", "2", "HC"), t("x", "1")])
    c = Corpus([t("x", "1"), t("y", "2", "AD")])
    assert a.digest() == b.digest() != c.digest()
    # It keys caches and runs' provenance: the value of every earlier version stays.
    assert a.digest() == "53cc384bb3ac8bc3"


def test_corpus_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="duplicate transcript id"):
        Corpus([t("x", "1"), t("x", "2")])


def test_a_diagnosis_that_changes_between_visits_stays_per_visit_and_stratifies_by_the_last():
    # Pitt is longitudinal: speaker 1 was a control at session 0, then diagnosed (sessions 1, 3);
    # files are read Control/ before Dementia/, so corpus order is not visit order
    corpus = Corpus(
        [
            t("d3", "1", "AD", session=3),
            t("c0", "1", "HC", session=0),
            t("d1", "1", "AD", session=1),
            t("b1", "2", "HC"),
            t("b2", "2", None),
        ]
    )
    assert [x.id for x in corpus.visits()["1"]] == ["c0", "d1", "d3"]
    assert corpus.speaker_labels() == {"1": Label.AD, "2": Label.HC}
    assert list(corpus.changed_diagnosis()) == ["1"]
    assert [x.label for x in corpus.by_speakers(["1"])] == [Label.AD, Label.HC, Label.AD]  # each visit its own
    back_again = Corpus([t("a", "3", "AD", session=0), t("b", "3", "HC", session=1)])
    assert back_again.speaker_labels() == {"3": Label.HC}


def test_real_and_synthetic():
    synthetic = t("s", "gen-1", source=Source(kind="synthetic", generator="dpo:ad"))
    corpus = Corpus([t("x", "1"), synthetic])
    assert [x.id for x in corpus.real()] == ["x"]
    assert synthetic.is_synthetic


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("cd", Label.AD),
        ("cc", Label.HC),
        (1, Label.AD),
        ("0", Label.HC),
        ("ProbableAD", Label.AD),
        ("Control", Label.HC),
        ("NA", None),
    ],
)
def test_label_spellings(raw, label):
    assert Label.parse(raw) == label
