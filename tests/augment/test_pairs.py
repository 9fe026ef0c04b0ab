"""Preference pairs and controlled degradation, on real transcripts of the shipped cohort with real spaCy markers."""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner

from augment.corrupt import OFFTOPIC_SENTENCES, loop, offtopic
from augment.degrade import DegradeConfig, degrade, smooth
from augment.filters import FilterConfig, garbage_verdict, on_topic_verdict
from augment.pair_config import PairConfig
from augment.pair_files import PairsSummary, PreferencePair, read_samples, summary_path, write_pairs
from augment.pairs import PairsError, build_pairs
from augment.prompts import STYLE_LABEL, task_messages
from detect.chat import clean_verbatim
from detect.errors import CorpusError
from detect.io import read_models
from detect.markers import MarkerExtractor, real_verbatim, verbatim_markers
from detect.records import Label


@pytest.fixture(scope="module")
def extractor():
    return MarkerExtractor()


@pytest.fixture(scope="module")
def train_slice():
    from detect.readers import load_corpus

    train = load_corpus().by_split("train")
    return [*list(train.by_label(Label.AD))[:10], *list(train.by_label(Label.HC))[:10]]


# -- degradation ---------------------------------------------------------------------------------


HEALTHY = (
    "the mother is drying dishes at the sink and the water is overflowing. the boy is standing on a stool "
    "taking cookies from the cookie jar. the stool is tipping over. the girl is reaching for a cookie. "
    "outside the window there is a garden."
)


def test_degrade_is_seeded_and_zero_intensity_is_identity():
    assert degrade(HEALTHY, DegradeConfig(intensity=0.0), seed=3).text == HEALTHY
    a = degrade(HEALTHY, DegradeConfig(intensity=0.7), seed=3)
    b = degrade(HEALTHY, DegradeConfig(intensity=0.7), seed=3)
    assert a == b
    assert a.text != HEALTHY


def test_degrade_intensity_moves_markers_toward_ad(extractor):
    def mean_markers(intensity):
        texts = [degrade(HEALTHY, DegradeConfig(intensity=intensity), seed=s).text for s in range(12)]
        frame = verbatim_markers(texts, extractor)
        return frame.mean()

    light, heavy = mean_markers(0.2), mean_markers(1.0)
    original = verbatim_markers([HEALTHY], extractor).iloc[0]
    assert heavy["iu_coverage"] < light["iu_coverage"] < original["iu_coverage"]
    assert heavy["disfluency_rate"] > light["disfluency_rate"] > original["disfluency_rate"]
    assert heavy["pronoun_ratio"] > original["pronoun_ratio"]


def test_at_the_pairs_intensity_every_edit_moves_its_marker_about_twice_the_ad_hc_gap(extractor):
    """No edit is a caricature: degrading the cohort's HC training transcripts moves each marker
    toward AD by one to three times the cohort's own AD-HC gap (calibrated to real speech). At the
    old rates fillers moved ten times the gap and trailing-offs eight to twelve (DPO learned a
    filler caricature)."""
    from detect.readers import load_corpus

    train = load_corpus().by_split("train")
    hc = [real_verbatim(t) for t in train.by_label(Label.HC)]
    ad = [real_verbatim(t) for t in train.by_label(Label.AD)]
    intensity = PairConfig().degrade_intensity
    degraded = [
        degrade(t, DegradeConfig(intensity=intensity), seed=1000 * k + i).text
        for k in range(3)
        for i, t in enumerate(hc)
    ]
    real_hc, real_ad = verbatim_markers(hc, extractor).mean(), verbatim_markers(ad, extractor).mean()
    moved = verbatim_markers(degraded, extractor).mean()
    markers = ("iu_coverage", "pronoun_ratio", "filler_rate", "retracing_rate", "pause_rate", "trailing_off_rate")
    gaps = {m: (moved[m] - real_hc[m]) / (real_ad[m] - real_hc[m]) for m in (*markers, "disfluency_rate")}
    assert all(1.0 <= g <= 3.0 for g in gaps.values()), gaps


def test_degraded_edits_are_read_back_as_disfluencies():
    result = degrade(HEALTHY, DegradeConfig(intensity=1.0, filler=0.5, repetition=0.3, trail_off=1.0), seed=1)
    _, counts = clean_verbatim(result.text)
    assert counts.fillers == result.edits["filler"] and counts.pauses == result.edits.get("pause", 0)
    assert counts.trailing_offs >= 1 and counts.retracings >= 1


def test_smooth_takes_out_what_degrade_adds_and_nothing_else(extractor):
    said = "Um the boy is is on the stool. so the so the jar is... uh and the girl. Uh. the mother is drying dishes."
    assert smooth(said) == "The boy is on the stool. so the jar is. and the girl. the mother is drying dishes."
    assert smooth(HEALTHY) == HEALTHY  # fluent text stays as it is
    degraded = degrade(HEALTHY, DegradeConfig(intensity=1.0, drop_info_unit=0, vague_noun=0, revision=0), seed=4).text
    assert clean_verbatim(degraded)[1].fillers > 0 and clean_verbatim(degraded)[1].retracings > 0
    _, counts = clean_verbatim(smooth(degraded))
    assert (counts.fillers, counts.retracings, counts.pauses, counts.trailing_offs) == (0, 0, 0, 0)
    before, after = verbatim_markers([degraded, smooth(degraded)], extractor).to_dict("records")
    assert after["iu_coverage"] == before["iu_coverage"] and after["disfluency_rate"] == 0 < before["disfluency_rate"]


def test_degrade_config_validates_its_range():
    with pytest.raises(ValueError, match="intensity"):
        DegradeConfig(intensity=1.5)


# -- pairs -----------------------------------------------------------------------------------------


def test_real_and_degraded_pairs_point_toward_their_style(train_slice, extractor):
    result = build_pairs(train_slice, PairConfig(strategies=("real", "degraded"), min_margin=0.2), extractor=extractor)
    pairs = result.pairs
    ids = {t.id: t for t in train_slice}
    assert {p.strategy for p in pairs} == {"real", "degraded"} and {p.style for p in pairs} == {"ad", "hc"}
    assert all(p.margin >= 0.2 for p in pairs)
    assert len({p.id for p in pairs}) == len(pairs)
    for p in pairs:
        if p.strategy == "real":
            want = Label.AD if p.style == "ad" else Label.HC
            assert ids[p.chosen_source].label == want and ids[p.rejected_source].label != want
        elif p.style == "ad":
            assert p.chosen_source.startswith("degraded:") and ids[p.rejected_source].label == Label.HC
        else:
            assert p.rejected_source.startswith("degraded:") and ids[p.chosen_source].label == Label.HC
    ad = [p for p in pairs if p.style == "ad"]
    hc = [p for p in pairs if p.style == "hc"]
    # AD-style chosen texts name fewer units and are more disfluent than what they beat; HC the reverse.
    assert statistics.mean(p.deltas.iu_coverage for p in ad) < 0 < statistics.mean(p.deltas.iu_coverage for p in hc)
    assert (
        statistics.mean(p.deltas.disfluency_rate for p in ad)
        > 0
        > statistics.mean(p.deltas.disfluency_rate for p in hc)
    )
    summary = result.summary
    assert summary.pairs == len(pairs) == sum(summary.by_style_strategy.values())
    assert summary.transcripts == {"ad": 10, "hc": 10}
    assert summary.axis["weights"]["iu_coverage"] < 0 < summary.axis["weights"]["disfluency_rate"]


def test_margin_filter_drops_and_counts(train_slice, extractor):
    loose = build_pairs(train_slice, PairConfig(strategies=("real",), min_margin=-100.0), extractor=extractor)
    strict = build_pairs(train_slice, PairConfig(strategies=("real",), min_margin=1.0), extractor=extractor)
    dropped = sum(strict.summary.dropped_margin.values())
    assert dropped > 0
    assert strict.summary.pairs + dropped == loose.summary.pairs


def test_duplicates_are_removed_and_counted(train_slice, extractor):
    doubled = [*train_slice, *[t.model_copy(update={"id": t.id + "-copy"}) for t in train_slice]]
    result = build_pairs(
        doubled,
        PairConfig(strategies=("degraded",), styles=("ad",), min_margin=-100.0, degrade_intensity=0.0),
        extractor=extractor,
    )
    # intensity 0 leaves the text as is: every pair has chosen == rejected
    assert result.pairs == [] and result.summary.dropped_duplicates == 20


def test_generated_negatives_need_samples_and_use_them(train_slice, extractor):
    with pytest.raises(PairsError, match="generated"):
        build_pairs(train_slice, PairConfig(strategies=("generated",)), extractor=extractor)
    samples = {"hc": ["it is a picture. that is all.", "um there is a thing there... I don't know."] * 2}
    result = build_pairs(
        train_slice, PairConfig(strategies=("generated",), styles=("hc",)), samples=samples, extractor=extractor
    )
    assert result.pairs, "vague AD-like samples must be rejected against real HC text"
    assert all(p.rejected in samples["hc"] and p.rejected_source.startswith("sample:hc:") for p in result.pairs)


@pytest.mark.slow
def test_conditional_prompts_name_the_style(train_slice, extractor, base_model_dir):
    from transformers import AutoTokenizer

    result = build_pairs(train_slice, PairConfig(strategies=("real",), mode="conditional"), extractor=extractor)
    prompts = {p.style: p.prompt for p in result.pairs}
    assert prompts["ad"] != prompts["hc"] and "Alzheimer" in prompts["ad"][-1]["content"]
    assert task_messages("ad", "separate") == task_messages("hc", "separate")
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    text = tokenizer.apply_chat_template(prompts["ad"], tokenize=False, add_generation_prompt=True)
    assert text.rstrip().endswith("assistant") and "Alzheimer" in text


def test_too_few_transcripts_is_a_clear_error(train_slice):
    ad_only_two = [t for t in train_slice if t.label == Label.HC] + [t for t in train_slice if t.label == Label.AD][:2]
    with pytest.raises(PairsError, match="only 2 AD transcripts"):
        build_pairs(ad_only_two, PairConfig())


# -- broken pairs: loops and off-topic drift -------------------------------------------------------


def _verdicts(texts, extractor):
    """(garbage passed, on_topic passed) per text, with the project's default filters."""
    frame = verbatim_markers(texts, extractor)
    config = FilterConfig()
    return [
        (garbage_verdict(t, config).passed, on_topic_verdict(dict(frame.iloc[i]), config).passed)
        for i, t in enumerate(texts)
    ]


def test_broken_pairs_reject_what_the_filters_reject(train_slice, extractor):
    result = build_pairs(train_slice, PairConfig(strategies=("broken",)), extractor=extractor)
    pairs = result.pairs
    assert {p.strategy for p in pairs} == {"broken"} and {p.style for p in pairs} == {"ad", "hc"}
    assert {p.rejected_source.split(":")[0] for p in pairs} == {"loop", "offtopic"}
    chosen = _verdicts([p.chosen for p in pairs], extractor)
    rejected = _verdicts([p.rejected for p in pairs], extractor)
    for p, (c_garbage, c_topic), (r_garbage, r_topic) in zip(pairs, chosen, rejected, strict=True):
        assert c_garbage and c_topic, p.chosen_source
        # a loop fails the loop check, a drift the topic check
        assert not r_garbage if p.rejected_source.startswith("loop:") else not r_topic, p.rejected_source
        assert p.margin_kind == "filter" and 0 < p.margin <= 1
    loops = [p for p in pairs if p.rejected_source.startswith("loop:")]
    drifts = [p for p in pairs if p.rejected_source.startswith("offtopic:")]
    assert all(p.deltas.loop_share < 0 for p in loops)
    assert all(p.deltas.iu_coverage > 0 for p in drifts)
    # the corruption keeps the length: the pair is not about saying more
    assert abs(statistics.mean(p.deltas.words for p in pairs)) < 15
    summary = result.summary
    assert summary.margin_kind == {"ad/broken": "filter", "hc/broken": "filter"}
    assert summary.mean_deltas["hc/broken"]["loop_share"] < 0


def test_broken_pairs_are_seeded(train_slice, extractor):
    config = PairConfig(strategies=("broken",), styles=("hc",), max_pairs_per_strategy=4, seed=5)
    a = build_pairs(train_slice, config, extractor=extractor).pairs
    b = build_pairs(train_slice, config, extractor=extractor).pairs
    other = build_pairs(
        train_slice,
        PairConfig(strategies=("broken",), styles=("hc",), max_pairs_per_strategy=4, seed=6),
        extractor=extractor,
    ).pairs
    assert a == b and len(a) == 4
    assert {p.rejected for p in a} != {p.rejected for p in other}
    text = real_verbatim(train_slice[-1])
    assert loop(text, seed=1) == loop(text, seed=1) != loop(text, seed=2)
    assert offtopic(text, seed=1) == offtopic(text, seed=1) != offtopic(text, seed=2)


def test_adding_broken_leaves_the_other_pairs_alone(train_slice, extractor):
    config = dict(max_pairs_per_strategy=3, seed=2)
    without = build_pairs(train_slice, PairConfig(strategies=("real", "degraded"), **config), extractor=extractor).pairs
    with_broken = build_pairs(
        train_slice, PairConfig(strategies=("real", "degraded", "broken"), **config), extractor=extractor
    ).pairs
    assert [p for p in with_broken if p.strategy != "broken"] == without


def test_broken_pairs_take_the_samples_the_filters_reject(train_slice, extractor):
    looping = "the boy is on the stool " * 12
    drifting = " ".join(OFFTOPIC_SENTENCES[:6])
    fine = real_verbatim(train_slice[-1]) + " and that is all."
    result = build_pairs(
        train_slice,
        PairConfig(strategies=("broken",), styles=("hc",), corruptions=("loop",)),
        samples={"hc": [looping, drifting, fine]},
        extractor=extractor,
    )
    from_samples = {p.rejected for p in result.pairs if p.rejected_source.startswith("sample:hc:")}
    assert looping.strip() in {t.strip() for t in from_samples} and drifting in from_samples
    assert fine not in from_samples and result.summary.dropped_filter == {"hc/broken": 1}


def test_disfluent_pairs_differ_only_in_the_disfluencies(train_slice, extractor):
    result = build_pairs(train_slice, PairConfig(strategies=("disfluent",)), extractor=extractor)
    pairs = result.pairs
    ids = {t.id: t for t in train_slice}
    # one pair per transcript that has a disfluency to take out, each in its speaker's own style
    assert len(pairs) == sum(1 for t in train_slice if smooth(real_verbatim(t)) != real_verbatim(t))
    assert {p.style for p in pairs} == {"ad", "hc"} and not result.summary.dropped_margin
    for p in pairs:
        speaker = ids[p.chosen_source]
        assert STYLE_LABEL[p.style] == speaker.label and p.chosen == real_verbatim(speaker)
        assert p.rejected == smooth(p.chosen) and p.rejected_source == f"smooth:{p.chosen_source}"
        # the same things are named (a parse can differ once 'dishes after dishes after dinner' is said once)
        assert abs(p.deltas.iu_coverage) < 0.1
        assert p.margin_kind == "disfluency" and p.margin > 0
        assert p.margin == pytest.approx(p.deltas.disfluency_rate, abs=1e-6)


def test_strategies_can_differ_per_style(train_slice, extractor):
    config = PairConfig(
        strategies={"ad": ("disfluent", "broken"), "hc": ("real", "degraded")}, max_pairs_per_strategy=3
    )
    result = build_pairs(train_slice, config, extractor=extractor)
    assert set(result.summary.by_style_strategy) == {"ad/disfluent", "ad/broken", "hc/real", "hc/degraded"}
    assert result.summary.config["strategies"] == {"ad": ["disfluent", "broken"], "hc": ["real", "degraded"]}
    # a list is every style's
    shared = PairConfig(strategies=("real", "broken"), max_pairs_per_strategy=3)
    assert shared.styles_for("broken") == ["ad", "hc"] and shared.styles_for("degraded") == []
    assert PairConfig(strategies=("real", "disfluent"), styles=("hc",)).styles_for("disfluent") == ["hc"]
    with pytest.raises(ValueError, match=r"none for style\(s\) \['hc'\]"):
        PairConfig(strategies={"ad": ("real",)})
    with pytest.raises(ValueError, match="strategies is empty"):
        PairConfig(strategies=())


def test_offtopic_sentences_name_no_information_unit():
    from detect.info_units import find_info_units

    assert all(not find_info_units(s) for s in OFFTOPIC_SENTENCES), "an off-topic sentence names the picture"


def test_broken_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 12 words, got 3"):
        loop("the boy fell", seed=0)
    with pytest.raises(ValueError, match="empty"):
        offtopic("  ", seed=0)
    with pytest.raises(ValueError, match="corruptions"):
        PairConfig(strategies=("broken",), corruptions=("magic",))
    with pytest.raises(ValueError, match="corruptions"):
        PairConfig(strategies=("broken",), corruptions=())


# -- files -----------------------------------------------------------------------------------------


def read_pairs(path):
    """A pairs file read back by the project's JSONL reader, as anything downstream would."""
    return read_models(path, PreferencePair, what="pair", fix="rebuild it")


def test_jsonl_round_trip_with_summary(train_slice, extractor, tmp_path):
    result = build_pairs(train_slice, PairConfig(max_pairs_per_strategy=3), extractor=extractor)
    path = write_pairs(tmp_path / "pairs.jsonl", result.pairs, result.summary)
    assert read_pairs(path) == result.pairs
    assert summary_path(path).name == "pairs.summary.json"
    assert PairsSummary.model_validate_json(summary_path(path).read_text()) == result.summary
    assert all(n <= 3 for n in result.summary.by_style_strategy.values())


def test_malformed_pairs_file_names_the_line(train_slice, extractor, tmp_path):
    result = build_pairs(train_slice, PairConfig(strategies=("real",), max_pairs_per_strategy=2), extractor=extractor)
    path = write_pairs(tmp_path / "pairs.jsonl", result.pairs)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], "{not json", *lines[2:]]) + "\n")
    with pytest.raises(CorpusError, match=r"pairs\.jsonl:3: not valid JSON") as info:
        read_pairs(path)
    assert "\n" not in str(info.value)
    broken = json.loads(lines[0])
    del broken["chosen"]
    path.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(CorpusError, match=r":2: bad pair: chosen"):
        read_pairs(path)


def test_samples_file_errors_name_the_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"stage": "sft", "style": "ad", "text": "uh the boy"}\n{"style": "xx", "text": "a"}\n')
    with pytest.raises(CorpusError, match=":2: not a sample record"):
        read_samples(path)
    path.write_text(
        '{"stage": "sft", "style": "ad", "text": "uh the boy"}\n{"stage": "dpo", "style": "ad", "text": "b"}\n'
    )
    assert read_samples(path) == {"ad": ["uh the boy"]}


@pytest.mark.slow
def test_cli_pairs_writes_file_and_summary(tmp_path):
    from tests.augment.test_base_model import cli_app

    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(
        cli_app(),
        [
            "augment",
            "pairs",
            "--out",
            str(out),
            "--max-pairs",
            "4",
            "--strategies",
            "real,degraded",
            "--intensity",
            "0.8",
        ],
    )
    assert result.exit_code == 0, result.output
    pairs = read_pairs(out)
    assert 0 < len(pairs) <= 16 and summary_path(out).is_file()
    bad = CliRunner().invoke(cli_app(), ["augment", "pairs", "--out", str(out), "--strategies", "real,magic"])
    assert bad.exit_code != 0 and "magic" in bad.output
