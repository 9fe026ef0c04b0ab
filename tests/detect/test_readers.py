"""Readers: each layout, auto-detection, the visit policy, the read report, and every bad-input case."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detect.errors import CorpusError
from detect.readers import ReadOptions, ReadReport, Visits, detect_layout, load_corpus, log_read_report
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
    report = ReadReport()
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


@pytest.mark.parametrize("label_file", ["test_labels.txt", "meta_data_test.txt"])
def test_adress_test_labels_from_a_label_only_file_keep_the_metadata(tmp_path, label_file):
    root = make_adress(tmp_path)
    (root / "test/meta_data_test.txt").unlink()
    (root / "test/meta_data.txt").write_text("ID   ; age; gender ; mmse\nS005 ; 66 ; 1 ; 27\nS006 ; 81 ; 0 ; NA\n")
    (root / "test" / label_file).write_text("ID ; Label\nS005 ; 0\nS006 ; 1\n")
    test = load_corpus(root).by_split("test")
    assert [(t.label, t.age, t.gender, t.mmse) for t in test] == [
        (Label.HC, 66.0, "female", 27.0),
        (Label.AD, 81.0, "male", None),
    ]


def test_adress_test_mmse_from_the_label_file_when_meta_data_has_none(tmp_path):
    root = make_adress(tmp_path)  # meta_data.txt: ID ; age ; gender; meta_data_test.txt adds Label ; mmse
    (root / "test/meta_data_test.txt").write_text("ID ; Label ; mmse\nS005 ; 0 ; 29\nS006 ; 1 ; 16\n")
    test = load_corpus(root).by_split("test")
    assert [(t.label, t.age, t.gender, t.mmse) for t in test] == [
        (Label.HC, 66.0, "female", 29.0),
        (Label.AD, 66.0, "female", 16.0),
    ]


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
    jsonl.write_text(
        "\n".join(
            json.dumps({"id": i, "speaker_id": f"s{i}", "label": lab, "text": "the girl."})
            for i, lab in enumerate(["cd", "cc", 1])
        )
    )
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
    with pytest.raises(
        CorpusError, match=r"cd/S001.cha: transcript is in cd/ but listed in cc_meta_data.txt \(line 2\)"
    ):
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
    with pytest.raises(CorpusError, match=r"d.jsonl:2: not valid JSON .*one JSON object per line"):
        load_corpus(jsonl)


def test_jsonl_corpus_with_a_bom_and_bad_lines_skipped(tmp_path):
    """A spreadsheet's export: a BOM, CRLF endings; with skip_bad the bad lines are listed and left out."""
    rows = [
        json.dumps({"id": i, "speaker_id": f"s{i}", "label": lab, "text": "the girl."})
        for i, lab in enumerate(["AD", "HC"])
    ]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes(("\ufeff" + "\r\n".join([rows[0], '["a list"]', '{"id": 9,', rows[1]]) + "\r\n").encode())
    with pytest.raises(CorpusError, match=r"d.jsonl:2: not a JSON object"):
        load_corpus(jsonl)
    report = ReadReport("jsonl", jsonl)
    corpus = load_corpus(jsonl, skip_bad=True, report=report)
    assert [t.id for t in corpus] == ["0", "1"] and corpus.labels() == [Label.AD, Label.HC]
    assert [(e.line, "JSON" in str(e)) for e in report.skipped] == [(2, True), (3, True)]


def test_skip_bad_keeps_going_and_lists_every_skipped_file(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cc/S001.cha").write_text(cha().replace("@End\n", ""))  # truncated
    (root / "train/transcription/cd/S003.cha").write_bytes(b"\x00\x00binary")
    (root / "test/transcription/S005.cha").write_bytes(b"")
    report = ReadReport()
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
    (root / "train/transcription/cd/S004.cha").write_text(cha("the boy [/ boy ."))
    result = CliRunner().invoke(app, ["corpus", "inspect", str(root)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "S004.cha:7: unbalanced [ ] in main tier (close the code with ])" in lines[0]
    assert "Traceback" not in result.output


def test_transcripts_without_participant_words_are_left_out_not_fatal(tmp_path):
    root = make_adress(tmp_path)
    (root / "train/transcription/cd/S004.cha").write_text(cha().replace("*PAR:", "*INV:"))
    (root / "test/transcription/S006.cha").write_text(
        cha()
        .replace("*PAR:\t&uh the boy is on the stool .", "*PAR:\t&=laughs xxx .")
        .replace("the water is &-um overflowing +...", "mhm . [+ exc]")
    )
    report = ReadReport()
    corpus = load_corpus(root, report=report)  # strict, and still read
    assert sorted(t.id for t in corpus) == ["S001", "S002", "S003", "S005"]
    assert [line.split(": ", 1)[1] for line in report.left_out] == [
        "no *PAR line: the participant says nothing",
        "no words in the *PAR lines (only events, xxx, excluded talk ...)",
    ]
    assert report.excluded_utterances == 1 and not report.skipped


# -- visits: a diagnosis that changes (Pitt) ----------------------------------------------------------


def make_pitt(root, files):
    for name in files:
        group, stem = name.split("/")
        folder = root / group / "cookie"
        folder.mkdir(parents=True, exist_ok=True)
        words = "the boy is on the stool ." if group == "Control" else "the thing [/] thing is there ."
        (folder / f"{stem}.cha").write_text(cha(words, "Control" if group == "Control" else "ProbableAD"))
    return root


PITT = [
    "Control/001-0",
    "Control/001-2",
    "Control/002-0",
    "Control/003-1",
    "Control/123-0",
    "Dementia/010-0",
    "Dementia/010-1",
    "Dementia/011-0",
    "Dementia/012-0",
    "Dementia/123-1",
    "Dementia/123-2",
    "Dementia/123-3",
]


def test_changed_diagnosis_default_policy_reads_every_visit_and_says_so(tmp_path, caplog):
    report = ReadReport()
    with caplog.at_level("INFO", logger="detect.readers"):
        corpus = load_corpus(make_pitt(tmp_path, PITT), report=report)
    assert len(corpus) == 12
    visits = corpus.visits()["123"]
    assert [(t.session, t.label) for t in visits] == [(0, Label.HC), (1, Label.AD), (2, Label.AD), (3, Label.AD)]
    assert corpus.speaker_labels()["123"] == Label.AD  # stratified by the last diagnosis
    line = (
        "speaker 123: 1 HC visit, 3 AD visits (HC -> AD -> AD -> AD): labelled per visit, grouped by speaker, "
        "stratified by the last diagnosis (AD)"
    )
    assert report.visits == [line]
    assert [r.getMessage() for r in caplog.records].count(line) == 1


def test_changed_diagnosis_speaker_visits_stay_in_one_fold(tmp_path):
    from detect.cv import speaker_folds

    corpus = load_corpus(make_pitt(tmp_path, PITT))
    for fold in speaker_folds(corpus, n_splits=2, seed=0):
        test = corpus.by_speakers(fold.test_speakers)
        train = corpus.by_speakers(fold.train_speakers)
        assert not {t.speaker_id for t in test} & {t.speaker_id for t in train}
        assert {t.id for t in corpus if t.speaker_id == "123"} <= {
            t.id for t in (test if "123" in fold.test_speakers else train)
        }


@pytest.mark.parametrize(
    ("policy", "ids_123", "n", "says"),
    [
        (Visits.exclude_changed, [], 8, "left out (--visits exclude-changed)"),
        (Visits.first, ["control/123-0"], 7, "kept the first visit only (HC)"),
        (Visits.last, ["dementia/123-3"], 7, "kept the last visit only (AD)"),
    ],
)
def test_changed_diagnosis_alternative_policies(tmp_path, policy, ids_123, n, says):
    report = ReadReport()
    corpus = load_corpus(make_pitt(tmp_path, PITT), report=report, visits=policy)
    assert [t.id for t in corpus if t.speaker_id == "123"] == ids_123
    assert len(corpus) == n and len(corpus.speakers()) == (6 if policy == Visits.exclude_changed else 7)
    assert report.visits == [f"speaker 123: 1 HC visit, 3 AD visits (HC -> AD -> AD -> AD): {says}"]
    if policy == Visits.first:
        assert [t.session for t in corpus if t.speaker_id in ("001", "010")] == [0, 0]


# -- the read report: file, console, MLflow -------------------------------------------------------------


def test_report_file_has_one_line_per_thing_the_read_did_not_take_as_it_is(tmp_path):
    root = make_pitt(tmp_path / "pitt", PITT)
    (root / "Dementia/cookie/011-0.cha").write_bytes(b"\x00binary")
    (root / "Dementia/cookie/012-0.cha").write_text(cha().replace("*PAR:", "*INV:"))
    (root / "Control/cookie/002-0.cha").write_text(cha("the boy [zz] is there ."))
    out = tmp_path / "reports" / "read.txt"
    corpus, read = ReadOptions(skip_bad=True, report=out).load(root)
    lines = out.read_text().splitlines()
    assert len(corpus) == 10 and lines == read.lines()
    assert [line.split(":", 1)[0] for line in lines] == ["skipped", "left out", "visits", "note"]
    assert lines[0].endswith(
        "011-0.cha: binary file, not a CHAT transcript (remove it or replace it with the .cha text)"
    )
    assert lines[3].endswith("002-0.cha: line 7: unknown code: [zz]")


@pytest.mark.slow
def test_read_report_in_mlflow(tmp_path):
    import mlflow

    root = make_pitt(tmp_path / "pitt", PITT)
    (root / "Dementia/cookie/011-0.cha").write_bytes(b"\x00binary")
    _, read = ReadOptions(skip_bad=True).load(root)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = mlflow.create_experiment("read-report", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        log_read_report(read)
    client = mlflow.MlflowClient()
    text = client.download_artifacts(run.info.run_id, "corpus/read_report.txt", str(tmp_path))
    assert Path(text).read_text().splitlines() == read.lines()
    metrics = client.get_run(run.info.run_id).data.metrics
    assert (metrics["corpus_skipped_files"], metrics["corpus_changed_diagnosis"]) == (1, 1)


@pytest.mark.slow
def test_detect_cv_takes_the_reading_options_and_logs_the_report(tmp_path):
    import mlflow

    root = make_pitt(tmp_path / "pitt", PITT)
    (root / "Dementia/cookie/011-0.cha").write_bytes(b"\x00binary")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = CliRunner().invoke(
        app,
        [
            "detect",
            "cv",
            "--corpus",
            str(root),
            "--classifier",
            "majority",
            "--folds",
            "2",
            "--repeats",
            "1",
            "--no-final-fit",
            "--tracking-uri",
            uri,
            "--experiment",
            "rr",
            "--skip-bad",
            "--visits",
            "last",
            "--report",
            str(tmp_path / "r.txt"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "r.txt").read_text().splitlines()
    assert lines[0].startswith("skipped: ") and lines[1].startswith("visits: speaker 123")
    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("rr").experiment_id], filter_string="tags.mlflow.parentRunId IS NULL"
    )
    assert run.data.metrics["corpus_skipped_files"] == 1
    assert "corpus/read_report.txt" in [a.path for a in client.list_artifacts(run.info.run_id, "corpus")]


@pytest.mark.parametrize(
    "command",
    [
        ["corpus", "inspect"],
        ["detect", "cv"],
        ["detect", "train"],
        ["detect", "predict"],
        ["augment", "pairs"],
        ["augment", "train"],
        ["augment", "generate"],
        ["augment", "filter"],
        ["augment", "classic"],
        ["benchmark"],
    ],
)
@pytest.mark.slow
def test_every_command_that_reads_a_corpus_has_the_reading_options(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--skip-bad", "--report", "--visits"):
        assert option in result.output, f"{' '.join(command)} lacks {option}"


def test_benchmark_reads_with_the_configs_reading_options(tmp_path):
    from detect.corpus_cli import with_flags
    from eval.config import load_config
    from eval.plan import plan

    root = make_pitt(tmp_path / "pitt", PITT)
    (root / "Dementia/cookie/011-0.cha").write_bytes(b"\x00binary")
    config = load_config("tiny", corpus=root, output_dir=tmp_path / "runs")
    with pytest.raises(CorpusError, match=r"011-0\.cha: binary"):
        plan(config)
    config = dataclasses.replace(config, reading=with_flags(config.reading, True, None, Visits.exclude_changed))
    read = ReadReport()
    corpus, _, _ = plan(config, read)
    assert len(read.skipped) == 1 and "123" not in corpus.speakers()
    assert config.digest() != load_config("tiny", corpus=root, output_dir=tmp_path / "runs").digest()


@pytest.mark.slow
def test_console_shows_only_cookiebench_lines_and_one_summary_per_file_with_notes(tmp_path):
    root = make_pitt(tmp_path / "pitt", PITT)
    quirky = (
        cha("the boy [zz] is &=laughs there [yy] .").replace(
            "*INV:\ttell me what you see .", "*INV:\t+< tell me all [>] of <the things .\nstray words"
        )
        + ""
    ).replace("@End\n", "%mor:\tdet|the n|boy\n@End\n")
    (root / "Control/cookie/002-0.cha").write_text(quirky)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    code = "from eval.cli import app; app()"
    for verbose, expect_details in (([], False), (["--verbose"], True)):
        run = subprocess.run(
            [sys.executable, "-c", code, *verbose, "corpus", "inspect", str(root), "--skip-bad"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr
        out = run.stdout + run.stderr
        summary = [line for line in out.splitlines() if "002-0.cha" in line and "tolerated" in line]
        assert len(summary) == 1 and "2 x unknown code" in summary[0] and "1 x stray line" in summary[0]
        assert ("unknown code: [yy]" in out) == expect_details
        for foreign in FOREIGN:
            assert foreign not in out, f"third-party output in the console: {foreign!r}\n{out}"
    # a command that also trains and tracks: MLflow's and scikit-learn's warnings stay out too
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "detect",
            "cv",
            "--corpus",
            str(root),
            "--classifier",
            "majority",
            "--folds",
            "2",
            "--repeats",
            "1",
            "--tracking-uri",
            f"sqlite:///{tmp_path}/m.db",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert not [f for f in FOREIGN if f in run.stdout + run.stderr], run.stdout + run.stderr


FOREIGN = ("Warning", "warn(", "Tokens set to empty", "%mor", "doc/s", "it/s", "Traceback")
