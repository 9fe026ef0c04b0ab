"""Kept synthetic records exported as CHAT (ADReSS layout), CSV and JSONL, read back by the
project's own reader with the same texts, counts and labels.

The texts are written here for the test (Cookie Theft-like, with the disfluencies a
generator writes): no transcript of a real corpus.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from augment.export import chat_utterances, export_synthetic, export_transcripts, kept_transcripts
from augment.filters import FilterConfig
from augment.synthesize import Synthetic
from augment.synthetic import GeneratorInfo, SyntheticDescription, Verdict, write_records
from detect.chat import clean_utterance, clean_verbatim, count_disfluencies
from detect.errors import CorpusError
from detect.readers import load_corpus
from eval.cli import app

TEXTS = {
    "ad": [
        "Uh the boy the boy is on the stool, he's falling... and um the mother, she is drying dishes?",
        "Well there's a a girl. She wants the cookie-jar um the cookie jar... xxx the water is on the floor on the "
        "floor.",
        "The the woman is um... I don't know. Uh uh the sink is running over!",
    ],
    "hc": [
        "A boy is standing on a stool that is tipping over while he takes cookies from the jar.",
        "The mother is drying a plate, and the water overflows the sink onto the floor. Outside there's a garden.",
    ],
}


def _record(style: str, i: int, text: str, *, failed: str = "") -> SyntheticDescription:
    return SyntheticDescription(
        id=f"{style}-g1-dpo-cond-s0-{i:06d}",
        style=style,
        text=text,
        generator=GeneratorInfo(
            kind="merged",
            base_model="smollm2-135m-instruct",
            adapter=f"g1-dpo-{style}",
            config_hash="0711ab6a18581f22",
            stage="dpo",
        ),
        parent_ids=("S002", "S013"),
        verdicts={name: Verdict(passed=name != failed) for name in (*FilterConfig().require, "style")},
    )


@pytest.fixture()
def records() -> list[SyntheticDescription]:
    kept = [_record(style, i, text) for style, texts in TEXTS.items() for i, text in enumerate(texts)]
    return [
        *kept,
        _record("hc", 98, "This one is off the topic.", failed="on_topic"),
        _record("hc", 99, "This one shares a run of words with a real transcript.", failed="privacy"),
        _record("ad", 97, "This one is on the wrong side of the style axis.", failed="style"),
    ]  # not required


def test_the_records_that_pass_the_required_filters_and_privacy_are_kept_with_their_stage_as_condition(records):
    kept = kept_transcripts(records)
    assert [t.id for t in kept] == [r.id for r in records[:5]] + ["ad-g1-dpo-cond-s0-000097"]
    assert {t.source.condition for t in kept} == {"dpo"}
    assert {t.source.kind for t in kept} == {"synthetic"}
    # privacy is required to leave, even where the filters were not asked for it
    assert "hc-g1-dpo-cond-s0-000099" not in {t.id for t in kept_transcripts(records, require=["length"])}


def test_a_benchmarks_kept_records_leave_only_if_they_pass_privacy(records, tmp_path):
    classic = SyntheticDescription(
        id="classic-swap-S002-0",
        style="hc",
        text="The boy is on the stool.",
        generator=GeneratorInfo(kind="classic", method="swap"),
        parent_ids=("S002",),
        verdicts={"privacy": Verdict(passed=False, detail="shares a 8-word run")},
    )
    data = {
        "g1": {
            "dpo": Synthetic(tuple(records), tuple(kept_transcripts(records))),
            "classic": Synthetic((classic,), (classic.to_transcript(condition="classic"),)),
        }
    }
    out = export_synthetic(data, tmp_path / "export")
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*")) == ["g1/dpo"]  # classic: nothing left
    assert len(load_corpus(out / "g1" / "dpo")) == 6


def test_chat_export_reads_back_as_an_adress_corpus_with_the_same_texts_counts_and_labels(records, tmp_path):
    kept = kept_transcripts(records)
    [root] = export_transcripts(kept, tmp_path / "chat", ["chat"])
    back = {t.id: t for t in load_corpus(root)}
    assert set(back) == {t.id for t in kept}
    for t in kept:
        read = back[t.id]
        assert (read.label, read.split) == (t.label, "train")
        assert read.text == t.text  # what the classifiers see
        assert read.disfluencies == t.disfluencies
    # the verbatim rendering survives CHAT notation; CHAT has no commas inside a sentence
    first = back["ad-g1-dpo-cond-s0-000000"]
    assert first.verbatim == (
        "uh the boy the boy is on the stool he's falling... and um the mother she is drying dishes?"
    )
    cha = (root / "train" / "transcription" / "cd" / "ad-g1-dpo-cond-s0-000000.cha").read_text()
    assert "*PAR:\t&-uh <the boy> [/] the boy is on the stool he's falling +...\n" in cha
    assert (first.disfluencies.fillers, first.disfluencies.retracings, first.disfluencies.trailing_offs) == (2, 1, 1)
    assert back["ad-g1-dpo-cond-s0-000002"].disfluencies.fillers == 3
    assert (root / "train" / "cc_meta_data.txt").read_text().splitlines()[1] == "hc-g1-dpo-cond-s0-000000 ; NA ;  ; NA"


def test_every_chat_file_is_marked_synthetic_in_its_headers(records, tmp_path):
    [root] = export_transcripts(kept_transcripts(records), tmp_path, ["chat"])
    files = sorted((root / "train" / "transcription").rglob("*.cha"))
    assert len(files) == 6
    for path in files:
        lines = path.read_text().replace("\n\t", " ").splitlines()  # continuation lines joined, as CHAT reads them
        comments = [line for line in lines if line.startswith("@Comment:")]
        assert "SYNTHETIC text (generator merged:g1-dpo-" in comments[0] and "not a real participant" in comments[0]
        assert comments[1] == "@Comment:\tderived from 2 real transcript(s): S002 S013"
        [participant] = [line for line in lines if line.startswith("@ID:")]
        fields = participant.removeprefix("@ID:\t").split("|")
        assert fields[1] == "cookiebench" and fields[2] == "PAR"
        assert fields[5] == ("ProbableAD" if "/cd/" in str(path) else "Control")
        assert fields[9].startswith("synthetic, generator merged:g1-dpo-") and fields[9].endswith("condition dpo")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_table_exports_read_back_verbatim(records, tmp_path, fmt):
    kept = kept_transcripts(records)
    [path] = export_transcripts(kept, tmp_path, [fmt])
    assert path.name == f"synthetic.{fmt}"
    back = list(load_corpus(path))
    assert [(t.id, t.speaker_id, t.label, t.verbatim, t.text, t.disfluencies) for t in back] == [
        (t.id, t.speaker_id, t.label, t.verbatim, t.text, t.disfluencies) for t in kept
    ]
    if fmt == "jsonl":
        row = json.loads(path.read_text().splitlines()[0])
        assert (row["source"], row["condition"], row["parent_ids"]) == ("synthetic", "dpo", ["S002", "S013"])


WORDS = [
    "the",
    "The",
    "boy",
    "stool",
    "cookie-jar",
    "she's",
    "mother",
    "water",
    "on",
    "a",
    "xxx",
    "Uh",
    "um",
    "er",
    "mhm",
    "is",
    "falling",
    "dishes",
    "jar",
    "(.)",
    "—",
]
PUNCTUATION = ["", "", "", ",", ".", "...", "?", "!"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(WORDS), st.sampled_from(PUNCTUATION), st.integers(1, 3)), min_size=1, max_size=25
    )
)
def test_chat_tiers_read_back_to_the_clean_text_and_counts_of_the_verbatim_text(pieces):
    """Any mix of words, fillers, pauses, corrections, repetitions (said 1-3 times) and sentence ends."""
    verbatim = " ".join(" ".join([word] * times) + mark for word, mark, times in pieces)
    tiers = chat_utterances(verbatim)
    clean, counts = clean_verbatim(verbatim)
    assert " ".join(c for c in map(clean_utterance, tiers) if c) == clean
    assert count_disfluencies(tiers) == counts


def test_an_export_into_a_folder_with_other_transcripts_is_refused(records, tmp_path):
    stray = tmp_path / "train" / "transcription" / "cc" / "S001.cha"
    stray.parent.mkdir(parents=True)
    stray.write_text("@UTF8\n@Begin\n@End\n")
    with pytest.raises(
        CorpusError,
        match=r"S001\.cha: is not among the records exported here \(export into an "
        r"empty folder\)",
    ):
        export_transcripts(kept_transcripts(records), tmp_path, ["chat"])


def test_cli_exports_the_kept_records_and_prints_what_it_wrote(records, tmp_path):
    source = write_records(tmp_path / "dpo.filtered.jsonl", records)
    result = CliRunner().invoke(
        app, ["augment", "export", str(source), "--format", "csv", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "x" / "synthetic.csv") in result.stdout.splitlines()
    assert len(load_corpus(tmp_path / "x" / "synthetic.csv")) == 6
    missing = CliRunner().invoke(app, ["augment", "export", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "nope.jsonl: no such synthetic JSONL file" in missing.output
