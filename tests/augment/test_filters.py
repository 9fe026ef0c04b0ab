"""Filters on hand-built cases; the privacy filter above all."""

from __future__ import annotations

import pandas as pd
import pytest

from augment.filters import (
    FilterConfig,
    PrivacyIndex,
    apply_filters,
    candidate_group,
    duplicate_verdicts,
    garbage_verdict,
    length_verdict,
    select,
    style_verdict,
)
from augment.style_axis import StyleAxis
from augment.synthetic import GeneratorInfo, SyntheticDescription, Verdict
from detect.records import Label, Transcript

COOKIE = (
    "The boy is standing on a stool and he is taking cookies out of the cookie jar. "
    "The stool is tipping over. His sister is reaching up for a cookie. "
    "The mother is washing the dishes at the sink and the water is running over onto the floor. "
    "There is a window with curtains and you can see the garden outside."
)
PATIENT = (
    "well there's a little boy climbing up to the cupboard for the cookie jar and the girl laughing "
    "at him while mama drying plates by the window"
)


def rec(text: str, i: int = 0, style: str = "ad") -> SyntheticDescription:
    return SyntheticDescription(id=f"r{i}", style=style, text=text, generator=GeneratorInfo(kind="lora", adapter=style))


def real(text: str, tid: str = "S001", label: Label = Label.AD) -> Transcript:
    return Transcript(id=tid, speaker_id=tid, label=label, text=text, verbatim=text, split="train")


# -- privacy -------------------------------------------------------------------------------


def test_privacy_rejects_an_eight_word_run_copied_from_a_real_transcript():
    index = PrivacyIndex([real(PATIENT)], n=8)
    leaked = "um I think uh there's a little boy climbing up to the cupboard for some cake"
    verdict = index.verdict(leaked)
    assert not verdict.passed
    assert "S001" in verdict.detail
    assert "cupboard" not in verdict.detail  # the report never repeats the patient's words


def test_privacy_sees_through_fillers_retracings_case_and_punctuation():
    index = PrivacyIndex([real(PATIENT)], n=8)
    disguised = "A Little boy, uh, climbing climbing up to the um Cupboard... for the cookie jar."
    assert not index.verdict(disguised).passed


def test_privacy_allows_seven_shared_words_and_unrelated_text():
    index = PrivacyIndex([real(PATIENT)], n=8)
    seven = "so a little boy climbing up to the shelf and falling"  # 7 words shared, then it diverges
    assert index.verdict(seven).passed
    assert index.verdict(COOKIE).passed


def test_privacy_indexes_verbatim_too_and_the_ngram_length_is_configurable():
    t = Transcript(
        id="S9", speaker_id="S9", label=Label.HC, text="x", verbatim="the kid grabbed the jar and the stool went down"
    )
    assert not PrivacyIndex([t], n=8).verdict("oh the kid grabbed the jar and the stool went down hard").passed
    assert PrivacyIndex([t], n=12).verdict("oh the kid grabbed the jar and the stool went down hard").passed
    with pytest.raises(ValueError, match="privacy_ngram"):
        FilterConfig(privacy_ngram=2)


def test_select_never_waves_through_a_record_without_a_privacy_verdict():
    r = rec(COOKIE).model_copy(update={"verdicts": {"length": Verdict(passed=True)}})
    assert select([r], require=("length",)) == [r]
    assert select([r], require=("length", "privacy")) == []


# -- length, garbage, loops -----------------------------------------------------------------------


def test_length_bounds():
    cfg = FilterConfig(min_words=10, max_words=80)
    assert not length_verdict("the boy fell", cfg).passed
    assert length_verdict(COOKIE, cfg).passed
    assert not length_verdict(COOKIE * 3, cfg).passed


def test_garbage_catches_loops_repeats_and_non_words_but_not_real_speech():
    cfg = FilterConfig()
    assert garbage_verdict(COOKIE, cfg).passed
    assert garbage_verdict("uh the boy is um on the the stool and ... the girl", cfg).passed
    loop = "the boy is taking a cookie " * 8
    assert "loop" in garbage_verdict(loop, cfg).detail
    assert "in a row" in garbage_verdict("and the the the the the the boy fell", cfg).detail
    soup = "the bxzq kkkkk wrtpl zzzzzz boy 3434 @@@ ;;; qqq grrrth the"
    assert "non-words" in garbage_verdict(soup, cfg).detail


# -- duplicates -----------------------------------------------------------------------------------


def test_exact_and_near_duplicates_are_marked_and_the_first_copy_kept():
    near = COOKIE.replace("garden", "yard")
    other = "A woman dries a plate while two children try to get cookies from the top shelf of the cupboard."
    verdicts = duplicate_verdicts([COOKIE, COOKIE.upper().replace(".", " uh ."), near, other], FilterConfig())
    assert [v.passed for v in verdicts] == [True, False, False, True]
    assert "exact duplicate of record #0" in verdicts[1].detail
    assert "near duplicate of record #0" in verdicts[2].detail


# -- style -----------------------------------------------------------------------------------------


def test_style_check_reads_the_axis_fitted_to_real_transcripts():
    ad = pd.DataFrame({"iu_coverage": [0.2, 0.3], "pronoun_ratio": [0.6, 0.5]})
    hc = pd.DataFrame({"iu_coverage": [0.7, 0.8], "pronoun_ratio": [0.2, 0.3]})
    axis = StyleAxis.fit(ad, hc, markers=("iu_coverage", "pronoun_ratio"))  # directions learned, not assumed
    ad_like = {"iu_coverage": 0.25, "pronoun_ratio": 0.55}
    assert style_verdict(axis, ad_like, "ad", 0.0).passed
    hc_verdict = style_verdict(axis, ad_like, "hc", 0.0)
    assert not hc_verdict.passed and "off the HC side" in hc_verdict.detail
    # a record barely on its side passes at the midpoint, not when a margin is asked for
    barely = {"iu_coverage": 0.49, "pronoun_ratio": 0.41}
    assert style_verdict(axis, barely, "ad", 0.0).passed and not style_verdict(axis, barely, "ad", 0.5).passed
    with pytest.raises(ValueError, match="both labels"):
        StyleAxis.fit(ad, hc.iloc[:0], markers=("iu_coverage",))


# -- the whole pipeline, real markers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def extractor():
    from detect.markers import MarkerExtractor

    return MarkerExtractor()


def test_apply_filters_records_every_verdict_and_drops_nothing(extractor):
    training = [
        real(PATIENT, "S001", Label.AD),
        real("uh the ... the boy um he is uh ... I don't know. it is falling. she ... um", "S002", Label.AD),
        real(
            "A boy on a stool takes cookies from the jar and the mother washes a plate at the sink.", "S003", Label.HC
        ),
        real(
            "The mother dries dishes while the sink overflows. The boy on the stool hands a cookie to his sister.",
            "S004",
            Label.HC,
        ),
    ]
    records = [
        rec(COOKIE, 0, "hc"),
        rec("well there's a little boy climbing up to the cupboard for the cookie jar and he falls", 1, "ad"),  # leak
        rec("The weather today is sunny and I like to walk my dog in the park near the river.", 2, "hc"),  # off topic
        rec(COOKIE, 3, "hc"),  # duplicate of 0
    ]
    out = apply_filters(records, training=training, extractor=extractor)
    assert len(out) == 4
    assert all(set(r.verdicts) == {"length", "garbage", "on_topic", "duplicate", "privacy", "style"} for r in out)
    assert all("iu_coverage" in r.markers for r in out)
    assert not out[1].verdicts["privacy"].passed and "S001" in out[1].verdicts["privacy"].detail
    assert not out[2].verdicts["on_topic"].passed
    assert not out[3].verdicts["duplicate"].passed
    assert [r.id for r in select(out)] == ["r0"]
    # style is recorded but not required unless asked
    assert select(out, require=("length",)) == out


VAGUE = (
    "uh the ... the boy um he is up there uh ... and it is falling. she is um ... she wants the cookie "
    "and uh the water is ... I don't know"
)
CLEAR = (
    "The boy is standing on a stool taking cookies from the cookie jar, and the stool is tipping over. "
    "His sister reaches for a cookie. The mother is drying a dish while the sink overflows onto the floor."
)


def candidate(text: str, i: int, style: str) -> SyntheticDescription:
    return SyntheticDescription(
        id=f"{style}-m-s0-{i:06d}", style=style, text=text, generator=GeneratorInfo(kind="lora", adapter=style)
    )


def test_best_of_keeps_the_passing_candidate_closest_to_its_real_class(extractor):
    training = [
        real(PATIENT, "S001", Label.AD),
        real("uh the ... the boy um he is uh ... I don't know. it is falling. she ... um the cookie", "S002", Label.AD),
        real(
            "A boy on a stool takes cookies from the jar and the stool is falling. The girl wants one. The mother "
            "washes a plate at the sink and the water runs over onto the floor by the window.",
            "S003",
            Label.HC,
        ),
        real(
            "The mother dries dishes while the sink overflows. The boy on the stool hands a cookie to his sister "
            "and the stool tips over. Outside the window there is a garden with a path.",
            "S004",
            Label.HC,
        ),
    ]
    off_topic = "The weather today is sunny and I like to walk my dog in the park near the river."
    records = [
        # HC file, two descriptions of 3 candidates: the clear one wins, the vague one loses,
        # an off-topic one cannot win however close its length is
        candidate(VAGUE, 0, "hc"),
        candidate(CLEAR, 1, "hc"),
        candidate(off_topic, 2, "hc"),
        candidate(off_topic, 3, "hc"),
        candidate(off_topic + " It was a nice day.", 4, "hc"),
        candidate(VAGUE.replace("the water", "the mother"), 5, "hc"),
        # AD file: the vague one wins
        candidate(CLEAR.replace("His sister", "The girl"), 0, "ad"),
        candidate(
            "oh the kid is ... um up on that thing and uh he's gonna fall. and she ... the lady uh she's "
            "doing the the dishes and it's um ... it's going over",
            1,
            "ad",
        ),
        candidate(CLEAR.replace("mother", "lady"), 2, "ad"),
    ]
    assert [candidate_group(r, 3) for r in records[:6]] == [("hc-m-s0", 0)] * 3 + [("hc-m-s0", 1)] * 3
    out = apply_filters(records, training=training, extractor=extractor, best_of=3)
    won = [r.verdicts["best_of"].passed for r in out]
    assert won == [False, True, False, False, False, True, False, True, False]
    winner, loser = out[1].verdicts["best_of"], out[0].verdicts["best_of"]
    assert winner.score < loser.score and "closest to the HC class mean of 3" in winner.detail
    assert out[2].verdicts["best_of"].detail == "failed a required filter"
    # the second HC group's only on-topic candidate wins although it is no clear description
    assert not out[3].verdicts["on_topic"].passed and not out[4].verdicts["on_topic"].passed
    # losers are never selected, whatever is required
    assert [r.id for r in select(out, require=("length",))] == [out[k].id for k in (1, 5, 7)]
    # filtering again draws again (an old verdict does not stick), with the same result
    assert [r.verdicts["best_of"] for r in apply_filters(out, training=training, extractor=extractor, best_of=3)] == [
        r.verdicts["best_of"] for r in out
    ]
    assert "best_of" not in apply_filters(out, training=training, extractor=extractor)[0].verdicts
    with pytest.raises(ValueError, match="both labels"):
        apply_filters(records, training=training[2:], extractor=extractor, best_of=3)


def test_to_transcript_is_a_synthetic_training_transcript():
    t = rec("uh the boy is on the stool ... and um the cookie jar.", 5, "ad").to_transcript(condition="dpo")
    assert t.label == Label.AD and t.split == "train" and t.is_synthetic
    assert "uh" not in t.text.split() and t.disfluencies.fillers == 2
    assert t.source.condition == "dpo" and t.source.generator.startswith("lora:ad")
