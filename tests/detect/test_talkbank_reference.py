"""TalkBank's reference corpus of valid CHAT (vendored, MIT/Apache): the reader takes every file.

106 files, one or more per construct of the CHAT manual; 105 have main tiers (one is a
header-only file awaiting transcription). Each is read for its main speaker (the one with the
most main tiers): no error, no note (valid CHAT gives the reader nothing to tolerate), the
clean text of every utterance is words and terminators only, no markup left over, and its
verbatim rendering words and the marks of :mod:`detect.verbatim`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from detect.chat import clean_text, read_chat, verbatim_text
from detect.errors import CorpusError
from detect.verbatim import PAUSE_MARK, RETRACE_MARK

REFERENCE = Path(__file__).parent / "talkbank_reference"
FILES = sorted(REFERENCE.rglob("*.cha"))
WORD = re.compile(r"[\w'’-]+(?:\.\.\.|[.?!])?")  # a word, then maybe a terminator
MARK = re.compile(rf"(?:{re.escape(PAUSE_MARK)}|{RETRACE_MARK})(?:\.\.\.|[.?!])?")  # verbatim only


def main_speaker(path: Path) -> str | None:
    speakers = Counter(re.findall(r"^\*([^:\s]+):", path.read_text(encoding="utf-8"), re.M))
    return speakers.most_common(1)[0][0] if speakers else None


def test_the_vendored_corpus_is_complete():
    assert len(FILES) == 106
    assert sum(main_speaker(p) is not None for p in FILES) == 105
    assert (REFERENCE / "LICENSE-MIT").is_file() and (REFERENCE / "LICENSE-APACHE").is_file()


@pytest.mark.parametrize("path", [p for p in FILES if main_speaker(p)], ids=lambda p: str(p.relative_to(REFERENCE)))
def test_every_reference_file_is_read_for_its_main_speaker(path):
    speaker = main_speaker(path)
    chat = read_chat(path, speaker=speaker)
    assert chat.notes == (), [str(n) for n in chat.notes]
    speech = chat.speech(speaker)
    assert speech
    for u in speech:
        clean, verbatim = clean_text(u.parsed), verbatim_text(u.parsed)
        leftover = [w for w in clean.split() if not WORD.fullmatch(w)]
        leftover += [w for w in verbatim.split() if not WORD.fullmatch(w) and not MARK.fullmatch(w)]
        assert not leftover, f"line {u.line}: {u.raw!r} -> {clean!r} / {verbatim!r}"


def test_the_file_without_speech_is_refused_by_name():
    (path,) = [p for p in FILES if main_speaker(p) is None]
    with pytest.raises(CorpusError, match=rf"{re.escape(str(path))}: no \*PAR line"):
        read_chat(path)
