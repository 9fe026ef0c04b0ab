"""Classic EDA-style augmentation: each op does what it says, intensity scales it, seeds reproduce."""

from __future__ import annotations

import random

import pytest

from augment.classic import OPS, ClassicConfig, augment_text, classic_augment, selection_require
from augment.filters import FilterConfig, apply_filters, select
from detect.records import Label, Transcript

TEXT = (
    "the boy is on the stool . he is getting cookies out of the jar . the stool is falling over . "
    "the mother is drying dishes . the sink is running over . the girl is reaching for a cookie ."
)
SENTENCES = "The boy is on the stool. The mother dries a plate. The girl laughs. Water runs on the floor."


def t(tid: str, label: Label, text: str = TEXT) -> Transcript:
    return Transcript(id=tid, speaker_id=tid, label=label, text=text, verbatim=text, split="train")


def rng() -> random.Random:
    return random.Random(0)


def test_deletion_removes_about_intensity_share_of_words():
    words = TEXT.split()
    out = augment_text(TEXT, "deletion", 0.2, rng()).split()
    assert len(words) - len(out) == pytest.approx(0.2 * len(words), abs=1)
    assert augment_text("cookie", "deletion", 1.0, rng()) == "cookie"  # never deletes everything


def test_swap_keeps_the_bag_of_words():
    out = augment_text(TEXT, "swap", 0.3, rng())
    assert out != TEXT and sorted(out.split()) == sorted(TEXT.split())


def test_noise_draws_replacements_from_the_given_vocabulary_only():
    vocab = ["zebra", "violin"]
    out = augment_text(TEXT, "noise", 0.25, rng(), vocab).split()
    changed = [w for w, o in zip(TEXT.split(), out, strict=False) if w != o]
    assert changed and set(changed) <= set(vocab) | set(TEXT.split())
    assert set(out) - set(TEXT.split()) <= set(vocab)


def test_disfluency_inserts_fillers_retracings_or_trailing_offs():
    out = augment_text(TEXT, "disfluency", 0.3, rng())
    added = len(out.split()) - len(TEXT.split())
    assert added >= 0.3 * len(TEXT.split()) - 1
    assert any(x in out.split() for x in ("uh", "um", "...")) or "the the" in out


def test_shuffle_reorders_sentences_without_changing_them():
    out = augment_text(SENTENCES, "shuffle", 1.0, random.Random(3))
    split = lambda text: sorted(s.strip(" .") for s in text.split(". "))  # noqa: E731
    assert out != SENTENCES and len(out) == len(SENTENCES)
    assert split(out) == split(SENTENCES)


def test_zero_intensity_is_the_identity_for_word_ops():
    for op in ("noise", "deletion", "swap", "disfluency"):
        assert augment_text(TEXT, op, 0.0, rng(), ["x"]) == TEXT


def test_classic_augment_records_style_parent_and_op_and_is_reproducible():
    corpus = [t("A1", Label.AD), t("H1", Label.HC, SENTENCES), Transcript(id="U", speaker_id="U", label=None, text="x")]
    cfg = ClassicConfig(intensity=0.2, seed=5)
    a = classic_augment(corpus, cfg, per_transcript=len(OPS))
    b = classic_augment(corpus, cfg, per_transcript=len(OPS))
    assert [r.text for r in a] == [r.text for r in b]
    assert len(a) == 2 * len(OPS)  # the unlabelled transcript is skipped
    assert {r.generator.method for r in a} == set(OPS)
    assert {r.style for r in a if r.parent_ids == ("A1",)} == {"ad"}
    assert {r.style for r in a if r.parent_ids == ("H1",)} == {"hc"}
    assert len({r.id for r in a}) == len(a)


def test_config_validation():
    with pytest.raises(ValueError, match="intensity"):
        ClassicConfig(intensity=1.5)
    with pytest.raises(ValueError, match="ops"):
        ClassicConfig(ops=("synonym",))
    assert ClassicConfig(ops=["swap"]).ops == ("swap",)


def test_classic_records_go_through_the_same_filters():
    corpus = [t("A1", Label.AD), t("H1", Label.HC, SENTENCES + " " + TEXT)]
    records = apply_filters(classic_augment(corpus, ClassicConfig(ops=("swap",), intensity=0.1)), training=corpus)
    # copies of real speech always fail privacy; that is why classic selection does not require it
    assert all(not r.verdicts["privacy"].passed for r in records)
    require = FilterConfig().require
    assert select(records, require=require) == []
    assert len(select(records, require=selection_require(require))) == 2
