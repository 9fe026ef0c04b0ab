"""Readers: each layout, auto-detection, and every bad-input case (strict and --skip-bad)."""

import json

import pytest
from typer.testing import CliRunner

from detect.errors import CorpusError
from detect.readers import ReadReport, detect_layout, load_corpus
from detect.records import Label
from eval.cli import app


def cha(words: str = "the boy is on the stool .", group: str = "Control") -> str:
    return (
        "@UTF8\n@Begin\n@Languages:\teng\n@Participants:\tPAR Participant, INV Investigator\n"
        f"@ID:\teng|Pitt|PAR|70;|female|{group}||Participant|||\n"
        "*INV:\ttell me what you see .\n"
        f"*PAR:\t&uh {words}\n"
        "*PAR:\tthe water is &-um overflowing +...\n"
        "@End\n"
    )


def make_adress(root, *, cc=("S001", "S002"), cd=("S003", "S004"), test=("S005", "S006")):
    (root / "train/transcription/cc").mkdir(parents=True)
    (root / "train/transcription/cd").mkdir(parents=True)
    (root / "test/transcription").mkdir(parents=True)
    header = "ID   ; age; gender ; mmse\n"
    (root / "train/cc_meta_data.txt").write_text(header + "".join(f"{s} ; 70 ; male ; 29\n" for s in cc))
    (root / "train/cd_meta_data.txt").write_text(header + "".join(f"{s} ; 72 ; female ; 18\n" for s in cd))
    for s in cc:
        (root / f"train/transcription/cc/{s}.cha").write_text(cha())
    for s in cd:
        (root / f"train/transcription/cd/{s}.cha").write_text(cha("the thing [/] thing is there .", "ProbableAD"))
    (root / "test/meta_data.txt").write_text("ID   ; age; gender\n" + "".join(f"{s} ; 66 ; 1\n" for s in test))
    (root / "test/meta_data_test.txt").write_text(
        "ID   ; age; gender ; Label ; mmse\n" + "".join(f"{s} ; 66 ; 1 ; {i % 2} ; NA\n" for i, s in enumerate(test))
    )
    for s in test:
        (root / f"test/transcription/{s}.cha").write_text(cha())
    return root


def test_adress_layout(tmp_path):
    root = make_adress(tmp_path)
    report = ReadReport("?", root)
    corpus = load_corpus(root, report=report)
    assert report.layout == "adress" and not report.skipped
    assert len(corpus) == 6 and len(corpus.speakers()) == 6
    s003 = corpus[[t.id for t in corpus].index("S003")]
    assert (s003.label, s003.split, s003.mmse, s003.age, s003.gender) == (Label.AD, "train", 18.0, 72.0, "female")
    assert s003.text == "the thing thing is there. the water is overflowing."
    assert s003.verbatim == "uh the thing thing is there. the water is um overflowing..."
    assert (s003.disfluencies.fillers, s003.disfluencies.retracings, s003.disfluencies.trailing_offs) == (2, 1, 1)
    test = corpus.by_split("test")
    assert [t.label for t in test] == [Label.HC, Label.AD]
    assert [t.gender for t in test] == ["female", "female"]
    assert test[0].mmse is None  # NA


def test_adress_test_without_labels_is_unlabelled(tmp_path):
    root = make_adress(tmp_path)
    (root / "test/meta_data_test.txt").unlink()
    corpus = load_corpus(root)
    assert [t.label for t in corpus.by_split("test")] == [None, None]


def test_pitt_layout_speakers_and_sessions(tmp_path):
    for group, names in (("Control", ["001-0", "001-2", "002-0"]), ("Dementia", ["010-1", "010-3"])):
        folder = tmp_path / group / "cookie"
        folder.mkdir(parents=True)
        for name in names:
            (folder / f"{name}.cha").write_text(cha())
    corpus = load_corpus(tmp_path)
    assert corpus.layout == "pitt"
    assert corpus.speakers() == ["001", "002", "010"]
    assert [t.session for t in corpus if t.speaker_id == "001"] == [0, 2]
    assert corpus.speaker_labels() == {"001": Label.HC, "002": Label.HC, "010": Label.AD}


def test_chat_folder_takes_labels_from_id_header(tmp_path):
    (tmp_path / "x.cha").write_text(cha(group="ProbableAD"))
    (tmp_path / "y.cha").write_text(cha(group="Control"))
    corpus = load_corpus(tmp_path)
    assert corpus.layout == "chat-folder"
    assert [t.label for t in corpus] == [Label.AD, Label.HC]


def test_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "d.csv"
    csv_path.write_text(
        "id,speaker_id,label,text,mmse\n"
        "a,s1,AD,uh the boy boy took it...,17\n"
        'b,s2,HC,"the boy is taking cookies, the stool tips.",NA\n'
    )
    corpus = load_corpus(csv_path)
    assert corpus.layout == "csv"
    assert corpus[0].text == "the boy boy took it."
    assert corpus[0].disfluencies.fillers == 1 and corpus[0].mmse == 17.0
    assert corpus.labels() == [Label.AD, Label.HC]

    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps({"id": i, "speaker_id": f"s{i}", "label": lab, "text": "the girl."})
                               for i, lab in enumerate(["cd", "cc", 1])))
    assert load_corpus(jsonl).labels() == [Label.AD, Label.HC, Label.AD]


# -- bad input -----------------------------------------------------------------------------------


def test_meta_row_without_transcript(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cc/S002.cha").unlink()
    with pytest.raises(CorpusError, match=r"cc_meta_data.txt:3: row for S002 but no transcript"):
        load_corpus(root)


def test_transcript_in_cd_listed_in_cc_meta(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cd/S001.cha").write_text(cha())
    with pytest.raises(CorpusError, match=r"cd/S001.cha: transcript is in cd/ but listed in cc_meta_data.txt \(line 2\)"):
        load_corpus(root)


def test_malformed_meta_row(tmp_path):
    root = make_adress(tmp_path)
    meta = root / "train/cd_meta_data.txt"
    meta.write_text(meta.read_text() + "S009 ; 70\n")
    with pytest.raises(CorpusError, match=r"cd_meta_data.txt:4: malformed row: 2 fields"):
        load_corpus(root)
    meta.write_text("ID   ; age; gender ; mmse\nS003 ; seventy ; male ; 20\nS004 ; 70 ; male ; 20\n")
    with pytest.raises(CorpusError, match=r"cd_meta_data.txt:2: malformed row: 'seventy' is not a number"):
        load_corpus(root)


def test_transcript_without_meta_row(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cc/S099.cha").write_text(cha())
    with pytest.raises(CorpusError, match=r"S099.cha: no row for S099 in cc_meta_data.txt"):
        load_corpus(root)


def test_csv_bad_rows_name_their_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,speaker_id,label,text\na,s1,AD,hello.\nb,s2,maybe,hi.\n")
    with pytest.raises(CorpusError, match=r"d.csv:3: unknown label 'maybe'"):
        load_corpus(path)
    path.write_text("id,speaker,label,text\n")
    with pytest.raises(CorpusError, match=r"missing column\(s\) speaker_id"):
        load_corpus(path)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"id": 1, "speaker_id": "a", "label": "AD", "text": "x."}\n{"id": 2,\n')
    with pytest.raises(CorpusError, match=r"d.jsonl:2: invalid JSON"):
        load_corpus(jsonl)


def test_skip_bad_keeps_going_and_lists_every_skipped_file(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cc/S001.cha").write_text(cha().replace("@End\n", ""))  # truncated
    (root / "train/transcription/cd/S003.cha").write_bytes(b"\x00\x00binary")
    (root / "test/transcription/S005.cha").write_bytes(b"")
    report = ReadReport("?", root)
    corpus = load_corpus(root, skip_bad=True, report=report)
    assert sorted(t.id for t in corpus) == ["S002", "S004", "S006"]
    reasons = " | ".join(str(e) for e in report.skipped)
    assert len(report.skipped) == 3
    assert "S001.cha: no @End" in reasons and "S003.cha: binary" in reasons and "S005.cha: file is empty" in reasons
    out = tmp_path / "skipped.txt"
    report.write(out)
    assert len(out.read_text().splitlines()) == 3


def test_unknown_layout(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CorpusError, match="no known corpus layout"):
        detect_layout(tmp_path)
    with pytest.raises(CorpusError, match="no such file or folder"):
        load_corpus(tmp_path / "missing")


def test_cli_strict_error_is_one_line_and_exit_1(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cd/S004.cha").write_text(cha().replace("*PAR:", "*INV:"))
    result = CliRunner().invoke(app, ["corpus", "inspect", str(root)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "S004.cha: no *PAR line" in lines[0]
    assert "Traceback" not in result.output
