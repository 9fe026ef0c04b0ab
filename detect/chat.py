"""CHAT transcripts: validate, read the participant's speech, clean it, count disfluencies.

pylangacq splits a file into headers, utterances and tiers (continuation lines joined,
``%mor``/``%gra`` kept apart). Two things it does not do the way AD detection needs,
so they live here:

* its strict mode rejects the older Pitt notation (``&uh`` rather than ``&-uh``), and its
  lenient mode silently glues stray lines onto the previous utterance, so a validation
  pass with line numbers runs first;
* its tokens drop retraced words (``boy [/] boy`` -> ``boy``), while repetition is itself
  a sign of AD, so the cleaning of the main tier is ours: codes go, words said stay.

Three renderings of one utterance:

==========  ===========================================================================
raw         ``&uh the boy [/] boy is gonna [: going to] fall (.) +...``  (CHAT)
clean       ``the boy boy is going to fall.``   classifier input: codes removed,
            retraced words kept, ``[: target]`` replaces the word, terminator kept
verbatim    ``uh the boy boy is gonna fall...`` what was said, readable; what the
            generators learn and write
==========  ===========================================================================

:func:`clean_verbatim` maps verbatim text (real or generated) to clean text and counts,
so synthetic descriptions get the same features as real ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pylangacq

from detect.errors import CorpusError
from detect.records import Disfluencies

# Filler words, as spoken. In CHAT, old files write them &uh, newer &-uh.
FILLERS = frozenset({"uh", "um", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mhm", "uhm", "huh", "em", "uh-huh"})

_BULLET = re.compile(r"\x15[^\x15]*\x15")
_REPLACEMENT = re.compile(r"(<[^<>]*>|\S+)\s*\[:\s*([^\]]+)\]")  # word [: target]  /  <a b> [: target]
_RETRACE = re.compile(r"\[/+[-?]?\]")  # [/] [//] [///] [/-] [/?]
_ANY_CODE = re.compile(r"\[[^\]]*\]")  # [* p:w] [+ exc] [=! laughs] [x 3] [!] [>] ...
_PAUSE = re.compile(r"\(\.{1,3}\)|\(\d+(?::\d+)?\.\d*\)")  # (.) (..) (...) (2.5)
_TRAIL_OFF = re.compile(r"\+\.\.[.?]")  # +... +..?
_SPECIAL_TERMINATOR = re.compile(r"\+(?:/{1,2}[.?]|\"/\.|\"\.|//\?|\.\.\.|\.\.\?|!\?)")  # +/. +//. +"/. ...
_LINKER = re.compile(r"(?<!\S)\+[<,\"^+](?!\S)")  # +< +, +" +^ ++ at utterance start
_UNINTELLIGIBLE = frozenset({"xxx", "yyy", "www", "xx", "yy"})
_TERMINATORS = (".", "?", "!")


@dataclass(frozen=True)
class ChatUtterance:
    speaker: str
    raw: str  # main tier, continuation lines joined, bullets kept
    line: int  # 1-based line of the *SPEAKER: line in the file


@dataclass(frozen=True)
class ChatFile:
    path: Path
    utterances: tuple[ChatUtterance, ...]
    participants: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> {age, sex, group, role}

    def speech(self, speaker: str = "PAR") -> tuple[ChatUtterance, ...]:
        return tuple(u for u in self.utterances if u.speaker == speaker)


# -- reading ------------------------------------------------------------------------------------


def read_chat(path: str | Path, *, speaker: str = "PAR") -> ChatFile:
    """Validates and reads one .cha file; raises :class:`CorpusError` naming file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(path, f"cannot read file: {e.strerror}", fix="check the path and permissions") from None
    if not data.strip():
        raise CorpusError(path, "file is empty", fix="re-export the transcript or remove the file")
    if b"\x00" in data[:4096]:
        raise CorpusError(path, "binary file, not a CHAT transcript", fix="remove it or replace it with the .cha text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusError(
            path, "not UTF-8 text", line=line, fix="convert it, e.g. iconv -f latin1 -t utf-8 (CHAT files are UTF-8)"
        ) from None

    utterances = _validate(path, text, speaker)
    reader = pylangacq.CHAT.from_strs([text], strict=False)
    header = reader.headers()[0]
    participants = {
        p.code: {"age": str(p.age or ""), "sex": str(p.sex or ""), "group": str(p.group or ""), "role": str(p.role or "")}
        for p in header.participants
    }
    # The validation pass gives line numbers; pylangacq must agree on the main tiers.
    parsed = [u for u in reader.utterances() if u.participant == speaker]
    if len(parsed) != sum(u.speaker == speaker for u in utterances):
        raise CorpusError(path, "could not split the utterances consistently", fix="check the file with CLAN's CHECK")
    return ChatFile(path=path, utterances=tuple(utterances), participants=participants)


def _validate(path: Path, text: str, speaker: str) -> list[ChatUtterance]:
    """Line-level checks pylangacq is too lenient for; returns main-tier utterances with lines."""
    lines = text.splitlines()
    utterances: list[ChatUtterance] = []
    has_begin = has_end = False
    current: list[str] | None = None  # pieces of the current main tier
    current_line = 0
    current_speaker = ""

    def flush():
        if current is not None:
            utterances.append(ChatUtterance(current_speaker, " ".join(current).strip(), current_line))

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.startswith("@"):
            flush()
            current = None
            has_begin |= line.startswith("@Begin")
            if line.startswith("@End"):
                has_end = True
                if any(rest.strip() for rest in lines[number:]):
                    raise CorpusError(path, "text after @End", line=number + 1, fix="move it above @End or delete it")
                break
        elif line.startswith("*"):
            flush()
            match = re.match(r"\*([A-Za-z0-9_]+):\s?(.*)$", line)
            if not match:
                raise CorpusError(path, "malformed main tier, expected '*CODE:<TAB>text'", line=number)
            current_speaker, current, current_line = match.group(1), [match.group(2)], number
        elif line.startswith("%"):
            flush()
            current = None
            if not re.match(r"%[A-Za-z0-9]+:", line):
                raise CorpusError(path, "malformed dependent tier, expected '%tier:<TAB>text'", line=number)
        elif line[0] in " \t":
            if current is not None:
                current.append(line.strip())
            # continuation of a header or a %tier: nothing we read
        else:
            raise CorpusError(
                path, f"line does not start with @, *, % or a tab: {line[:40]!r}", line=number,
                fix="join it to the line above with a leading tab, or fix the tier prefix",
            )
    else:
        flush()

    if not has_begin:
        raise CorpusError(path, "no @Begin header", fix="not a CHAT file? add '@Begin' after '@UTF8'")
    if not has_end:
        raise CorpusError(path, "no @End line: the file looks truncated", fix="re-export it, or add '@End' if complete")
    if not any(u.speaker == speaker for u in utterances):
        raise CorpusError(path, f"no *{speaker} line: no participant speech to read", fix="check the speaker code")
    for u in utterances:
        if u.speaker != speaker:
            continue  # another speaker's quirks are no reason to reject the transcript
        if u.raw.count("[") != u.raw.count("]"):
            raise CorpusError(path, "unbalanced [ ] or < > in main tier", line=u.line, fix="close the code")
        groups = _LINKER.sub(" ", _ANY_CODE.sub(" ", u.raw))  # [<] [>] codes and the +< linker are no groups
        if groups.count("<") != groups.count(">"):
            raise CorpusError(path, "unbalanced [ ] or < > in main tier", line=u.line, fix="close the code")
    return utterances


def is_excluded(raw: str) -> bool:
    """``[+ exc]``: the transcribers excluded the utterance from analysis."""
    return bool(re.search(r"\[\+\s*exc\s*\]", raw))


# -- cleaning -----------------------------------------------------------------------------------


def _strip_bullets_and_replacements(raw: str, *, use_target: bool) -> str:
    text = _BULLET.sub(" ", raw)

    def replace(m: re.Match) -> str:
        said = m.group(1).strip("<>")
        return f" {m.group(2).strip()} " if use_target else f" {said} "

    return _REPLACEMENT.sub(replace, text)


def _is_filler(token: str) -> bool:
    """&uh (old Pitt) and &-uh (newer CHAT) are both fillers; &f, &wa are fragments."""
    if token.startswith("&-"):
        return True
    return token.startswith("&") and token[1:].lower() in FILLERS


def _words(text: str, *, verbatim: bool) -> list[str]:
    """Tokens of a main tier after bullets/replacements/codes went; CHAT word-level markup removed."""
    out: list[str] = []
    for token in text.split():
        if _is_filler(token):
            if verbatim:
                out.append(token.lstrip("&-").lower())
            continue
        if token.startswith("&") or token.lower() in _UNINTELLIGIBLE or token.startswith("0"):
            continue  # fragments, events (&=laughs), unintelligible, omitted words (0is)
        if token in _TERMINATORS:
            out.append(token)
            continue
        word = token.split("@", 1)[0]  # word@l, word@o: special-form markers
        word = re.sub(r"[()]", "", word)  # wo(rd) incomplete words -> word
        word = word.replace("_", " ").replace("+", " ")  # compounds: cookie_jar
        word = re.sub(r"[:^↑↓≠\u2021\u201e]", "", word)  # lengthening wa:ter, pauses in words, tags
        word = word.strip()
        if word and re.search(r"\w", word):
            out.append(word)
    return out


def _join(words: list[str], ending: str) -> str:
    """Attach terminators to the preceding word; guarantee the utterance ends in one."""
    text = " ".join(words)
    text = re.sub(r"\s+([.?!])", r"\1", text).strip()
    if not text:
        return ""
    if ending == "...":
        return text.rstrip(".?!") + "..."
    if not text.endswith(_TERMINATORS):
        text += "."
    return text


def _strip_codes(raw: str, *, use_target: bool) -> str:
    """Main tier without bullets, codes, pauses, special terminators and linkers; words remain."""
    text = _strip_bullets_and_replacements(raw, use_target=use_target)
    text = _RETRACE.sub(" ", text)
    text = _ANY_CODE.sub(" ", text).replace("<", " ").replace(">", " ")
    text = _PAUSE.sub(" ", text)
    text = _SPECIAL_TERMINATOR.sub(" ", text)
    return _LINKER.sub(" ", text)


def clean_utterance(raw: str) -> str:
    """Classifier text of one main tier: codes, fillers, pauses, events go; words said stay."""
    return _join(_words(_strip_codes(raw, use_target=True), verbatim=False), ending=".")


def verbatim_utterance(raw: str) -> str:
    """What was said, readable: 'uh' for &-uh, retraced words repeated, '...' for trailing off."""
    ending = "..." if _TRAIL_OFF.search(raw) else "."
    return _join(_words(_strip_codes(raw, use_target=False), verbatim=True), ending=ending)


def count_disfluencies(raws: list[str] | tuple[str, ...]) -> Disfluencies:
    """Counts from the CHAT codes of main tiers (before any cleaning)."""
    fillers = retracings = unintelligible = pauses = trailing = fragments = 0
    for raw in raws:
        text = _BULLET.sub(" ", raw)
        retracings += len(_RETRACE.findall(text))
        pauses += len(_PAUSE.findall(text))
        trailing += len(_TRAIL_OFF.findall(text))
        for token in _ANY_CODE.sub(" ", text).split():
            token = token.strip("<>")
            if _is_filler(token):
                fillers += 1
            elif token.lower() in _UNINTELLIGIBLE:
                unintelligible += 1
            elif token.startswith("&") and not token.startswith("&="):
                fragments += 1
    return Disfluencies(
        fillers=fillers, retracings=retracings, unintelligible=unintelligible, pauses=pauses,
        trailing_offs=trailing, fragments=fragments, utterances=len(raws),
    )


def clean_verbatim(text: str) -> tuple[str, Disfluencies]:
    """Clean text and disfluency counts from verbatim text (a generator's output, CSV text).

    Fillers are bare words (uh, um); an immediately repeated word or short phrase counts as a
    retracing; a sentence ending in '...' as a trailing off. CHAT codes, if any, are cleaned too.
    """
    if re.search(r"[&\[\]\x15]|\+\.\.\.|\(\.\)", text):  # it is CHAT after all
        raws = [u for u in re.split(r"(?<=[.?!])\s+", text.strip()) if u]
        return " ".join(c for c in map(clean_utterance, raws) if c), count_disfluencies(raws)

    sentences = [s for s in re.findall(r"[^.?!]+(?:\.\.\.|[.?!])?", text) if re.search(r"\w", s)]
    cleaned: list[str] = []
    fillers = retracings = trailing = unintelligible = 0
    for sentence in sentences:
        stripped = sentence.strip()
        if stripped.endswith("...") or stripped.endswith("…"):
            trailing += 1
        tokens = re.findall(r"[\w'-]+", stripped)
        kept = []
        for token in tokens:
            low = token.lower()
            if low in FILLERS:
                fillers += 1
            elif low in _UNINTELLIGIBLE:
                unintelligible += 1
            else:
                kept.append(token)
        retracings += _count_repeats([t.lower() for t in kept])
        if kept:
            ending = "?" if stripped.endswith("?") else "!" if stripped.endswith("!") else "."
            cleaned.append(" ".join(kept) + ending)
    counts = Disfluencies(
        fillers=fillers, retracings=retracings, unintelligible=unintelligible, trailing_offs=trailing,
        utterances=len(sentences),
    )
    return " ".join(cleaned), counts


def _count_repeats(words: list[str], longest: int = 3) -> int:
    """Immediate repetitions of 1..longest words ('the the', 'on the on the'), each counted once."""
    count, i = 0, 0
    while i < len(words):
        for n in range(longest, 0, -1):
            if i + 2 * n <= len(words) and words[i : i + n] == words[i + n : i + 2 * n]:
                count += 1
                i += n
                break
        else:
            i += 1
    return count
