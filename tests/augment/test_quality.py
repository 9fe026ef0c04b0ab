"""The generation-quality report (augment/quality.py) and `cookiebench augment evaluate`.

The fixture is hand-written (no patient speech): a real corpus of 4 AD and 4 HC training
transcripts plus 2 + 2 test ones, and 8 synthetic records built so that what the report
must say can be worked out by hand: which records fail which filter, word counts, bigrams.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from augment.quality import GeneratorData, generator_name, quality_report
from augment.synthetic import GeneratorInfo, SyntheticDescription, write_records
from augment.tstr import evaluation_splits, real_reference
from detect.diversity import distinct_n, real_range, self_similarity
from detect.readers import load_corpus

from .quality_fixture import HC_PASSED_WORDS, HC_TRAIN_WORDS, REAL, SYNTHETIC, records, write_corpus


@pytest.fixture(scope="module")
def corpus_csv(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("real") / "real.csv")


@pytest.fixture(scope="module")
def synthetic_jsonl(tmp_path_factory) -> Path:
    return write_records(tmp_path_factory.mktemp("synthetic") / "synth.jsonl", records())


@pytest.fixture(scope="module")
def report(corpus_csv):
    corpus = load_corpus(corpus_csv)
    splits, test = evaluation_splits(corpus)
    return quality_report([GeneratorData("merged", records())], real_reference(corpus), test_splits=splits, test=test)


def test_fixture_word_counts_are_what_the_expectations_assume():
    assert [len(text.split()) for _, label, split, text in REAL if label == "HC" and split == "train"] == HC_TRAIN_WORDS
    assert [len(text.split()) for style, text in SYNTHETIC[:3]] == HC_PASSED_WORDS


@pytest.mark.slow
def test_pass_rate_and_privacy_rejections_come_from_the_filters(report):
    (generator,) = report.generators
    styles = {s.style: s for s in generator.styles}
    assert (styles["hc"].records, styles["hc"].passed, styles["hc"].privacy_rejected) == (4, 3, 1)
    assert (styles["ad"].records, styles["ad"].passed, styles["ad"].privacy_rejected) == (4, 3, 0)
    assert styles["hc"].pass_rate == styles["ad"].pass_rate == 0.75


def test_after_a_best_of_n_draw_the_pass_rate_is_the_filters_and_the_measures_read_the_winners(corpus_csv):
    from augment.filters import apply_filters

    corpus = load_corpus(corpus_csv)
    drawn = apply_filters(records(), training=list(corpus.by_split("train")), best_of=2)  # pairs 0-1, 2-3, 4-5, 6-7
    (generator,) = quality_report([GeneratorData("merged", drawn)], real_reference(corpus)).generators
    for style in generator.styles:
        # one winner per pair: (0 or 1, 2) for HC (3 fails privacy), (4 or 5, 6) for AD (7 fails length)
        assert (style.records, style.passed, style.pass_rate) == (4, 2, 0.75)


def test_marker_distance_is_in_real_class_standard_deviations(report):
    hc = {s.style: s for s in report.generators[0].styles}["hc"]
    words = {m.marker: m for m in hc.markers}["words"]
    real_mean = 27.5  # (23 + 27 + 28 + 32) / 4
    real_sd = math.sqrt((4.5**2 + 0.5**2 + 0.5**2 + 4.5**2) / 3)
    assert words.real_mean == pytest.approx(real_mean)
    assert words.real_sd == pytest.approx(real_sd)
    assert words.synthetic_mean == pytest.approx(50 / 3)  # (17 + 15 + 18) / 3: the privacy copy does not count
    assert words.distance == pytest.approx((50 / 3 - real_mean) / real_sd)
    ad = {s.style: s for s in report.generators[0].styles}["ad"]
    pronouns = {m.marker: m for m in ad.markers}["pronoun_ratio"]
    assert pronouns.distance == pytest.approx((pronouns.synthetic_mean - pronouns.real_mean) / pronouns.real_sd)


def test_clear_cut_styles_are_recognised_by_a_detector_trained_on_real_text(report):
    styles = {s.style: s for s in report.generators[0].styles}
    assert styles["ad"].style_accuracy == 1.0
    assert styles["hc"].style_accuracy == 1.0


def test_distinct_2_of_the_passing_records(report):
    hc = {s.style: s for s in report.generators[0].styles}["hc"]
    # 16 + 14 + 17 bigrams of the clean texts (each ends in "word."); only "from the" repeats.
    assert hc.distinct_2 == pytest.approx(46 / 47)
    low, high = hc.distinct_2_real  # 3-text samples of the 4 real HC training texts
    assert 0 < low <= high <= 1


def test_tstr_and_trtr_test_on_the_corpus_test_split(report):
    assert report.test == "the corpus test split (4 speakers)"
    utility = {u.detector: u for u in report.generators[0].utility}
    assert set(utility) == {"tfidf", "markers"}
    for u in utility.values():
        assert u.splits == 1
        assert u.ratio == pytest.approx(u.tstr_f1 / u.trtr_f1)
    assert utility["markers"].trtr_f1 == 1.0  # the test texts are as clear-cut as the training ones


def test_frame_and_metrics_carry_one_row_per_generator_and_style(report):
    frame = report.frame()
    assert frame[["generator", "style"]].values.tolist() == [["merged", "AD"], ["merged", "HC"]]
    metrics = report.metrics()
    assert metrics["quality/merged/HC/pass_rate"] == 0.75
    assert metrics["quality/merged/AD/style_accuracy"] == 1.0


def test_diversity_measures_on_hand_built_texts():
    texts = [
        "the boy takes a cookie from the jar",
        "the mother dries a plate at the sink",
        "water runs over the sink onto the floor",
    ]
    assert distinct_n(["a b a b a b"], 2) == pytest.approx(2 / 5)
    assert distinct_n(texts * 2, 2) == pytest.approx(distinct_n(texts, 2) / 2)
    assert math.isnan(distinct_n(["one"], 2))
    assert self_similarity([texts[0]] * 4) == 1.0
    assert self_similarity(texts) < 0.2
    assert math.isnan(self_similarity(texts[:1]))
    # a sample as large as the real set is the real set: one value
    assert real_range(texts, 5, lambda t: distinct_n(t, 2)) == (distinct_n(texts, 2),) * 2


def test_generators_are_named_by_stage_styles_and_base_model_and_a_separate_pair_is_one():
    def rec(adapter, kind="merged", method=None, stage="dpo", base="smollm2-135m-instruct"):
        return SyntheticDescription(
            id="x-0",
            style="ad",
            text="t",
            generator=GeneratorInfo(kind=kind, adapter=adapter, method=method, stage=stage, base_model=base),
        )

    pair = "dpo AD+HC adapters on smollm2-135m-instruct"
    assert generator_name(rec("ad")) == generator_name(rec("hc", kind="lora")) == pair  # merged or LoRA: one generator
    assert generator_name(rec("ad", stage="sft")) == "sft AD+HC adapters on smollm2-135m-instruct"
    assert (
        generator_name(rec("g1-dpo-ad", base="/models/smollm2-135m-instruct"))
        == generator_name(rec("g1-dpo-hc"))
        == f"g1 {pair}"
    )
    assert generator_name(rec("cond", stage="sft")) == "sft conditional adapter on smollm2-135m-instruct"
    assert generator_name(rec("mine")) == "dpo adapter mine on smollm2-135m-instruct"
    assert generator_name(rec("ad", stage=None)) == "AD+HC adapters on smollm2-135m-instruct"  # an older record
    assert generator_name(rec(None, "prompt-only", "few-shot-3", None)) == (
        "prompt-only few-shot-3 on smollm2-135m-instruct"
    )
    assert generator_name(rec(None, "classic", "swap", None, None)) == "classic"


@pytest.mark.slow
def test_cli_prints_the_report_and_writes_json_and_markdown(corpus_csv, synthetic_jsonl, tmp_path):
    from eval.cli import app

    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["augment", "evaluate", str(synthetic_jsonl), "--corpus", str(corpus_csv), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "3/4" in result.output and "TSTR" in result.output
    saved = json.loads(out.read_text())
    assert [s["passed"] for s in saved["generators"][0]["styles"]] == [3, 3]
    md = tmp_path / "report.md"
    result = CliRunner().invoke(
        app, ["augment", "evaluate", str(synthetic_jsonl), "--corpus", str(corpus_csv), "--out", str(md)]
    )
    assert result.exit_code == 0, result.output
    assert "| dpo AD+HC adapters on smollm2-135m-instruct |" in md.read_text()


def test_cli_bad_synthetic_line_is_one_line_naming_file_and_line(corpus_csv, synthetic_jsonl, tmp_path):
    from eval.cli import app

    bad = tmp_path / "bad.jsonl"
    lines = synthetic_jsonl.read_text().splitlines()
    bad.write_text("\n".join([lines[0], '{"id": "x", "style": "ad"}', *lines[1:]]) + "\n")
    result = CliRunner().invoke(app, ["augment", "evaluate", str(bad), "--corpus", str(corpus_csv)])
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and f"{bad}:2:" in error[0]


def test_classic_copies_are_not_required_to_pass_privacy(corpus_csv):
    corpus = load_corpus(corpus_csv)
    train = real_reference(corpus)
    copies = [
        SyntheticDescription(
            id=f"classic-{t.id}",
            style=t.label.value.lower(),
            text=t.verbatim,
            generator=GeneratorInfo(kind="classic", method="swap"),
        )
        for t in train
    ]
    report = quality_report([GeneratorData("classic", copies)], train)
    (generator,) = report.generators
    assert "privacy" not in generator.required
    # every copy fails privacy; the HC ones pass the rest, the AD ones name under 10% of the
    # information units and fail on-topic
    assert [(s.style, s.passed, s.privacy_rejected) for s in generator.styles] == [("ad", 0, 4), ("hc", 4, 4)]


def test_near_copies_are_counted_among_all_candidates_as_a_rate(report):
    styles = {s.style: s for s in report.generators[0].styles}
    assert (styles["hc"].privacy_rejected, styles["hc"].near_copy_rate) == (1, 0.25)  # record 3 copies h1
    assert styles["ad"].near_copy_rate == 0.0
    frame = report.frame().set_index("style")
    assert frame.loc["HC", "near_copy_rate"] == 0.25
    assert report.metrics()["quality/merged/HC/near_copy_rate"] == 0.25
    assert "near_copy_rate" in report.markdown()


def test_a_near_copy_that_lost_a_best_of_n_draw_still_counts(corpus_csv):
    from augment.filters import apply_filters

    corpus = load_corpus(corpus_csv)
    drawn = apply_filters(records(), training=list(corpus.by_split("train")), best_of=2)
    (generator,) = quality_report([GeneratorData("merged", drawn)], real_reference(corpus)).generators
    hc = {s.style: s for s in generator.styles}["hc"]
    assert (hc.passed, hc.near_copy_rate) == (2, 0.25)  # never kept, still written


def test_scene_reuse_is_the_share_of_4_grams_found_in_the_scene_texts():
    from augment.prompts import SCENE
    from augment.wording import scene_reuse

    assert scene_reuse(SCENE) == 1.0
    # "the water overflows onto" / "water overflows onto the" / "overflows onto the floor" of 6 4-grams
    assert scene_reuse("the water overflows onto the floor and the boy") == 0.5
    assert scene_reuse("uh the water um overflows overflows onto the floor and the boy") == 0.5  # read as privacy reads
    assert scene_reuse("the lad is nicking biscuits while mum gazes out") == 0.0
    assert math.isnan(scene_reuse("the boy"))


def test_scene_reuse_and_vocabulary_divergence_stand_beside_the_real_class(report):
    from augment.wording import scene_reuse

    hc = {s.style: s for s in report.generators[0].styles}["hc"]
    assert hc.scene_reuse == 0.0  # no 4-gram of the passing HC records is the scene's
    # h2 says "the boy takes cookies from the high cupboard": "takes cookies from the" is the scene's
    real = [scene_reuse(text) for _, label, split, text in REAL if label == "HC" and split == "train"]
    assert real[1] > 0 and hc.scene_reuse_real == pytest.approx(sum(real) / 4)
    assert 0 < hc.vocabulary_divergence < 1
    low, high = hc.vocabulary_divergence_real
    assert 0 < low <= high < 1
    row = report.frame().set_index("style").loc["HC"]
    assert row["vocabulary_divergence"] == hc.vocabulary_divergence and row["scene_reuse_real"] == hc.scene_reuse_real


def test_vocabulary_divergence_is_a_jensen_shannon_divergence_in_bits():
    from augment.wording import real_vocabulary_divergence, vocabulary_divergence

    assert vocabulary_divergence(["the boy", "the girl"], ["the girl the boy"]) == 0.0
    assert vocabulary_divergence(["a b"], ["c d"]) == 1.0
    # P = (a 1/2, b 1/2), Q = (a 1/2, c 1/2): M = (1/2, 1/4, 1/4); JS = 1/2 (KL(P|M) + KL(Q|M)) = 1/2
    assert vocabulary_divergence(["a b"], ["a c"]) == pytest.approx(0.5)
    assert vocabulary_divergence(["a b"], ["a c"]) == vocabulary_divergence(["a c"], ["a b"])
    assert math.isnan(vocabulary_divergence([], ["a"]))
    texts = [f"the boy {w} the cookie" for w in ("takes", "grabs", "gets", "steals", "wants", "has")]
    low, high = real_vocabulary_divergence(texts, 2)
    assert 0 < low <= high < 1
    assert all(math.isnan(v) for v in real_vocabulary_divergence(texts[:1], 1))  # nothing left to compare with


def test_the_real_level_of_near_copies_is_a_speaker_sharing_a_run_with_another(report):
    from augment.filters import shares_a_run_with_another_speaker
    from detect.records import Transcript

    said = "the boy is on the stool and the stool is tipping over"
    transcripts = [
        Transcript(id=f"t{i}", speaker_id=speaker, label=None, text=text)
        for i, (speaker, text) in enumerate(
            [("s1", said), ("s1", said + " again"), ("s2", "uh " + said), ("s3", "a girl")]
        )
    ]
    # s1's two sessions share it with s2 (fillers out, as privacy reads); one speaker alone is no copy
    assert shares_a_run_with_another_speaker(transcripts) == [True, True, True, False]
    assert shares_a_run_with_another_speaker(transcripts[:2]) == [False, False]
    styles = {s.style: s for s in report.generators[0].styles}
    assert styles["hc"].near_copy_rate_real == 0.0 and styles["ad"].near_copy_rate_real == 0.0  # fixture: none


def test_scene_reuse_is_high_for_a_text_copying_the_scene_and_low_for_fresh_speech():
    from augment.prompts import SCENE
    from augment.wording import scene_reuse

    sentences = [s.strip() for s in SCENE.split(".") if len(s.split()) > 6]
    copied = "uh " + " and ".join(sentences[:2]).lower()  # a filler and a joint do not hide a lifted phrase
    assert scene_reuse(copied) > 0.8
    fresh = "uh the kid he's up on that thing and um she wants one too and mum is not looking"
    assert scene_reuse(fresh) == 0.0


def test_vocabulary_divergence_is_zero_for_the_same_distribution_and_bounded_by_one_bit():
    from augment.wording import vocabulary_divergence

    said = [text for _, _, _, text in REAL]
    assert vocabulary_divergence(said, said) == 0.0
    assert vocabulary_divergence(said[:3], [t + " " + t for t in said[:3]]) == pytest.approx(0.0)  # proportions
    for i in range(len(said)):
        for j in range(len(said)):
            assert 0.0 <= vocabulary_divergence([said[i]], [said[j]]) <= 1.0
    assert vocabulary_divergence([said[0]], [said[4]]) > vocabulary_divergence([said[0]], [said[1]])  # HC vs AD


def test_the_near_copy_rate_counts_candidates_rejected_by_any_filter(corpus_csv):
    from augment.filters import apply_filters

    corpus = load_corpus(corpus_csv)
    # the AD copy of a4 also fails nothing else; the 3-word AD record fails length and on-topic: both count
    copy = SyntheticDescription(id="ad-ad-s0-000008", style="ad", text=REAL[7][3], generator=records()[0].generator)
    candidates = [*records(), copy]
    judged = apply_filters(candidates, training=list(corpus.by_split("train")))
    (generator,) = quality_report([GeneratorData("merged", judged)], real_reference(corpus)).generators
    ad = {s.style: s for s in generator.styles}["ad"]
    assert (ad.records, ad.passed, ad.privacy_rejected) == (5, 3, 1)
    assert ad.near_copy_rate == pytest.approx(1 / 5)  # of all five candidates, not of the three kept
