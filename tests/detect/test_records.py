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


def test_corpus_rejects_duplicate_ids_and_mixed_labels():
    with pytest.raises(ValueError, match="duplicate transcript id"):
        Corpus([t("x", "1"), t("x", "2")])
    with pytest.raises(ValueError, match="both AD and HC"):
        Corpus([t("x", "1", "AD"), t("y", "1", "HC")])


def test_real_and_synthetic():
    synthetic = t("s", "gen-1", source=Source(kind="synthetic", generator="dpo:ad"))
    corpus = Corpus([t("x", "1"), synthetic])
    assert [x.id for x in corpus.real()] == ["x"]
    assert synthetic.is_synthetic


@pytest.mark.parametrize(("raw", "label"), [("cd", Label.AD), ("cc", Label.HC), (1, Label.AD), ("0", Label.HC),
                                            ("ProbableAD", Label.AD), ("Control", Label.HC), ("NA", None)])
def test_label_spellings(raw, label):
    assert Label.parse(raw) == label
