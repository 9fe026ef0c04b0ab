"""The CHAT reader's functions, and the bad-input suite: what it rejects, and what it only notes.

Validation is about the speaker read: only an unreadable participant tier (or an unreadable
file) is an error, one line naming file, line and fix; quirks elsewhere are notes. The
conventions, one fixture each by chapter of the CHAT manual, are in test_chat_conformance.py.
"""

import re

import pytest

from detect.chat import clean_utterance, clean_verbatim, count_disfluencies, parse_main_tier, read_chat, verbatim_text
from detect.errors import CorpusError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # fillers: old Pitt (&uh, &um) and newer (&-uh) notation
        ("&uh the boy is there .", "the boy is there."),
        ("&um the boy is there .", "the boy is there."),
        ("&-uh the boy &-um is there .", "the boy is there."),
        # fragments and events
        ("the &f fell down .", "the fell down."),
        ("the boy &=laughs fell .", "the boy fell."),
        # unintelligible
        ("and xxx the water .", "and the water."),
        # pauses, short and timed
        ("the (.) boy (..) is (...) there (2.5) .", "the boy is there."),
        # retracings: markers removed, retraced words kept
        ("the boy [/] boy is there .", "the boy boy is there."),
        ("<the mother> [//] the woman is washing .", "the mother the woman is washing."),
        ("the stool [///] the chair is there .", "the stool the chair is there."),
        # replacement keeps the target
        ("he is gonna [: going to] fall .", "he is going to fall."),
        ("the dishes [: dishes] [* p:w] .", "the dishes."),
        # error and postcodes
        ("the cookie [*] jar [+ exc] .", "the cookie jar."),
        # trailing off and interruption go; the utterance still ends in a terminator
        ("and the water is +...", "and the water is."),
        ("the boy is +/.", "the boy is."),
        # terminators kept
        ("is that all ?", "is that all?"),
        ("oh my !", "oh my!"),
        # media bullets
        ("the girl is reaching . \x15123_4567\x15", "the girl is reaching."),
        # continuation lines are joined before cleaning (see test_read_joins_continuation_lines)
        ("the water is running over\tonto the floor .", "the water is running over onto the floor."),
        # compounds, incomplete words, special forms
        ("the cookie_jar is wo(rd) there@o .", "the cookie jar is word there."),
        # omitted words are not words said
        ("the boy 0is stealing .", "the boy stealing."),
    ],
)
def test_clean_utterance(raw, clean):
    assert clean_utterance(raw) == clean


def verbatim_utterance(raw: str) -> str:
    return verbatim_text(parse_main_tier(raw))


def test_verbatim_keeps_what_was_said():
    raw = "&-uh the boy [/] boy is gonna [: going to] fall (.) +..."
    assert verbatim_utterance(raw) == "uh the boy boy is gonna fall (.)..."
    assert verbatim_utterance("<the mother> [//] the woman (..) xxx is &f washing .") == (
        "the mother — the woman (.) xxx is washing."
    )
    assert verbatim_utterance("&um the girl . \x151_2\x15") == "um the girl."


def test_count_disfluencies_reads_the_codes():
    counts = count_disfluencies(
        [
            "&uh the boy [/] boy is on the (.) stool . \x15100_200\x15",
            "&-um <the mother> [//] the woman (..) xxx is &f washing &=laughs +...",
            "he is gonna [: going to] fall +/.",
        ]
    )
    assert (counts.fillers, counts.retracings, counts.pauses) == (2, 2, 2)
    assert (counts.unintelligible, counts.trailing_offs, counts.fragments) == (1, 1, 1)
    assert counts.utterances == 3


def test_clean_verbatim_of_generated_text():
    clean, counts = clean_verbatim("uh the boy boy is on the stool... um and the the water is running over.")
    assert clean == "the boy boy is on the stool. and the the water is running over."
    assert (counts.fillers, counts.retracings, counts.trailing_offs, counts.utterances) == (2, 2, 1, 2)


def test_clean_verbatim_reads_the_marks_of_pauses_corrections_and_unintelligible_words():
    clean, counts = clean_verbatim("the mother — the woman (.) xxx is on the the cookie-jar-- stool (..) and...")
    assert clean == "the mother the woman is on the the cookie-jar stool and."
    assert (counts.retracings, counts.pauses, counts.unintelligible, counts.trailing_offs) == (3, 2, 1, 1)


def test_verbatim_reads_back_to_the_counts_of_its_codes():
    raws = [
        "&uh the boy [/] boy is on the (.) stool .",
        "&-um <the mother> [//] the woman (..) xxx is washing +...",
        "he [///] she is gonna [: going to] fall (2.5) over [x 2] +/.",
    ]
    verbatim = " ".join(verbatim_utterance(raw) for raw in raws)
    coded, read_back = count_disfluencies(raws), clean_verbatim(verbatim)[1]
    assert read_back.model_dump(exclude={"fragments"}) == coded.model_dump(exclude={"fragments"})


def test_clean_verbatim_accepts_chat_text():
    clean, counts = clean_verbatim("&uh the boy [/] boy . the girl +...")
    assert clean == "the boy boy. the girl."
    assert (counts.fillers, counts.retracings, counts.trailing_offs) == (1, 1, 1)


def test_stray_brackets_of_written_prose_do_not_make_a_generated_text_chat():
    """A generator writes "[sic]" and a lone "]" as written prose does; only CHAT's own codes mean CHAT,
    so the fillers, corrections and pauses around them are still counted."""
    clean, counts = clean_verbatim("uh the boy [sic] the the boy (.) is on the — stool.] um [my name] there.")
    assert clean == "the boy sic the the boy is on the stool. my name there."
    assert (counts.fillers, counts.retracings, counts.pauses) == (2, 2, 1)
    coded = ("the boy [/] boy .", "&-um the boy .", "gonna [: going to] fall .", "he [*] fell .", "she +/.")
    for chat in (*coded, "&{n=BANG} what was that .", "what [^c] why now ?"):
        assert not re.search(r"[[&{]", clean_verbatim(chat)[0]), chat  # read as CHAT: the code is gone


CHA = (
    "@UTF8\n@PID:\t11312/t-1\n@Begin\n@Languages:\teng\n"
    "@Participants:\tPAR Participant, INV Investigator\n"
    "@ID:\teng|Pitt|PAR|57;|male|ProbableAD||Participant|18||\n"
    "@ID:\teng|Pitt|INV|||||Investigator|||\n@Media:\ta, audio\n"
    "*INV:\tjust tell me what you see .\n"
    "*PAR:\t&uh there is a boy [/] boy on the stool . \x15123_456\x15\n"
    "%mor:\tadv|there cop|be&3S det:art|a n|boy prep|on det:art|the n|stool .\n"
    "%gra:\t1|2|JCT 2|0|ROOT\n"
    "*PAR:\tand the water is running\n\tover [+ exc] .\n"
    "*INV:\tanything else ?\n"
    "*PAR:\tno .\n"
    "@End\n"
)


def test_read_takes_participant_speech_only(tmp_path):
    path = tmp_path / "a.cha"
    path.write_text(CHA, encoding="utf-8")
    chat = read_chat(path)
    speech = chat.speech()
    assert [u.raw.split(" \x15")[0] for u in speech] == [
        "&uh there is a boy [/] boy on the stool .",
        "and the water is running over [+ exc] .",  # continuation joined, %mor/%gra not mixed in
        "no .",
    ]
    assert [u.line for u in speech] == [10, 13, 16]
    assert chat.participants["PAR"]["group"] == "ProbableAD"


# -- validation: about the speaker read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"", "file is empty", None),
        (b"   \n\n", "file is empty", None),
        (b"\x00\x01\x02PK\x03\x04binary", "binary file", None),
        ("@UTF8\n@Begin\n*PAR:\tcaf\xe9 .\n@End\n".encode("latin-1"), "not UTF-8", 3),
        (CHA.replace("@End\n", "").encode(), "no @End", None),
        (CHA.replace("*PAR:", "*INV:").encode(), "no *PAR line", None),
        (CHA.replace("@Begin\n", "").encode(), "no @Begin", None),
        # a line that may be participant speech, but is no tier and no continuation
        (CHA.replace("*INV:\tanything else ?\n", "anything else ?\n").encode(), "line does not start with", 15),
        (CHA.replace("[+ exc]", "[+ exc").encode(), "unbalanced [ ]", 13),
        (CHA.replace("[/] boy", "[/ [/] boy").encode(), "unbalanced [ ]", 10),
        (CHA.replace("no .", "<no more .").encode(), "unbalanced < >", 16),
        (CHA.replace("*PAR:\tno .\n@End", "@End\n*PAR:\tno .").encode(), "*PAR speech after @End", 17),
    ],
)
def test_bad_files_get_a_one_line_error_naming_file_line_and_fix(tmp_path, data, message, line):
    path = _write(tmp_path, "bad.cha", data)
    with pytest.raises(CorpusError) as info:
        read_chat(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert "\n" not in text
    if data.strip() and b"\x00" not in data:
        assert text.endswith(")"), "a bad transcript's error says what to do, in parentheses"


def test_errors_name_the_line(tmp_path):
    path = _write(tmp_path, "bad.cha", CHA.replace("*INV:\tanything else ?\n", "anything else ?\n").encode())
    with pytest.raises(CorpusError, match=rf"{path}:15: "):
        read_chat(path)
    latin = _write(tmp_path, "latin.cha", "@UTF8\n@Begin\n*PAR:\tok .\n*PAR:\tcaf\xe9 .\n@End\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin.cha:4: not UTF-8"):
        read_chat(latin)


@pytest.mark.parametrize(
    ("change", "note"),
    [
        # other speakers' main tiers are never checked: unclosed codes, lazy overlaps, unscoped [>]
        (("*INV:\tjust tell me what you see .", "*INV:\t+< tell me all [>] of <the things [+ exc ."), None),
        # a line without a prefix after another speaker's tier, a dependent tier, or a header
        (("*INV:\tanything else ?\n", "*INV:\tanything else ?\nwhat else\n"), "line 16: stray line"),
        (("%gra:\t1|2|JCT 2|0|ROOT\n", "%gra:\t1|2|JCT 2|0|ROOT\nJCT ROOT\n"), "line 13: stray line"),
        (("@Media:\ta, audio\n", "@Media:\ta, audio\naudio file lost\n"), "line 9: stray line"),
        (("%gra:\t1|2|JCT", "%gra 1|2|JCT"), "line 12: malformed dependent tier"),
        (("@ID:\teng|Pitt|INV|||||Investigator|||", "@ID:\tINV"), "line 7: malformed @ID"),
        (("@End\n", "@End\nthe end\n"), "line 18: text after @End"),
        # the participant's own tiers: what the reader does not know, and a missing terminator
        (("*PAR:\tno .", "*PAR:\tno [zz] ."), "line 16: unknown code: [zz]"),
        (("*PAR:\tno .", "*PAR:\tno"), "line 16: no terminator"),
    ],
)
def test_quirks_outside_the_participants_words_are_noted_not_fatal(tmp_path, change, note):
    path = _write(tmp_path, "quirky.cha", CHA.replace(*change).encode())
    assert CHA.replace(*change) != CHA
    chat = read_chat(path)
    assert [u.raw.split(" \x15")[0] for u in chat.speech()][-1] in ("no .", "no [zz] .", "no")
    if note is None:
        assert chat.notes == ()
    else:
        assert len(chat.notes) == 1 and str(chat.notes[0]).startswith(note)


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_embedded_cohorts_verbatim_reads_back_to_its_coded_counts():
    """The quality report compares a generator's verbatim with real transcripts' CHAT counts: the
    comparison is fair only if a real transcript's own verbatim reads back to its counts."""
    from detect.readers import default_corpus_path, load_corpus

    corpus = load_corpus(default_corpus_path())
    for field in ("fillers", "retracings", "unintelligible", "pauses", "trailing_offs"):
        coded = sum(getattr(t.disfluencies, field) for t in corpus)
        read_back = sum(getattr(clean_verbatim(t.verbatim)[1], field) for t in corpus)
        assert coded > 0
        assert abs(read_back - coded) <= 0.05 * coded, (field, coded, read_back)
