"""CHAT transcripts: read one speaker's speech, clean it, count disfluencies.

CHAT is the TalkBank transcription format (https://talkbank.org/0info/manuals/CHAT.html).
A file is headers (``@``), main tiers (``*PAR:``: what a speaker said, with codes) and
dependent tiers (``%mor:``, ``%gra:``, ``%wor:`` ...); a line starting with a tab continues
the one above. This module reads every kind of line, and the main tiers of the speaker it
is asked for (``PAR`` by default) down to the words said.

Why this reader is ours and not pylangacq's (0.23, a wrapper over the Rust ``rustling``
parser), measured on TalkBank's reference corpus (106 files of valid CHAT) and on the
simulated cohort:

* pylangacq's tokens are CLAN's %mor words: retraced words are dropped (``boy [/] boy`` ->
  ``boy``) and ``[: target]`` replaces the word said. Repetitions and revisions are
  themselves signs of AD, and the generators must learn what was said, so the cleaning of
  the main tier has to be ours either way. Its ``audible`` rendering keeps events
  (``&=laughs``) and unintelligible markers in the text.
* its strict mode rejects valid reference files (a pause next to a quotation mark, two
  terminators, an SES value in ``@ID``); its lenient mode glues a stray line onto the
  utterance above without a word, and reports nothing with a line number.
* its warnings about %mor tiers it cannot align go to the user's console and name a random
  id instead of the file; and we never read %mor at all.
* what it would still give us, the header and tier split, is the loop below, which we need
  anyway for line numbers; parsing a file twice would cost several times this loop
  (bench-results/README.md, B23).

So the structure is read here in one pass, with line numbers for every error, and nothing
third-party writes to the console. Validation is about the speaker being read: a quirk on
another speaker's tier, in a dependent tier or in a header is a :class:`Note` (logged and
summarised by :mod:`detect.readers`), never a reason to reject the transcript. A transcript
is rejected only when we cannot tell what the speaker said: not text, not UTF-8, no
``@Begin``/``@End`` (truncated), no main tier of the speaker, a stray line inside one of
its main tiers, or an unclosed ``[``/``<`` in one of them.

Three renderings of one utterance:

==========  ===========================================================================
raw         ``&-uh the boy [/] boy is gonna [: going to] fall (.) +...``  (CHAT)
clean       ``the boy boy is going to fall.``   classifier input: codes removed,
            retraced words kept, ``[: target]`` replaces the word, terminator kept
verbatim    ``uh the boy boy is gonna fall (.)...`` what was said, readable; what the
            generators learn and write (pauses, corrections and unintelligible words
            marked as :mod:`detect.verbatim` says)
==========  ===========================================================================

Utterances with the postcode ``[+ exc]`` (excluded from analysis by the transcribers) are
marked (:attr:`Parsed.excluded`): the readers leave them out of the text and the counts.
:func:`clean_verbatim` maps verbatim text (real or generated) to clean text and counts, so
synthetic descriptions get the same features as real ones. The conventions, one test each,
are in ``tests/detect/test_chat_conformance.py`` and the CHAT table of ``docs/chat.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from detect.errors import CorpusError, NoSpeechError
from detect.records import Disfluencies
from detect.verbatim import (
    CHAT_CODES,
    DASH,
    PAUSE_MARK,
    PAUSE_SLOT,
    RETRACE_MARK,
    SENTENCE,
    UNINTELLIGIBLE,
    WORD,
    hold_pauses,
    repeated_runs,
)

# Filler words, as spoken. In CHAT, old files write them &uh, newer &-uh.
FILLERS = frozenset({"uh", "um", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mhm", "uhm", "huh", "em", "uh-huh"})

_BULLET = re.compile(r"\x15[^\x15]*\x15")
# One token of a main tier: a code in [ ], a group or quotation delimiter, the +< linker
# (whose < is no group), or a run of anything else (a word, a pause, a terminator).
_TOKEN = re.compile(r"\[[^\[\]]*\]|\+<|[<>‹›〔〕“”]|[^\s\[\]<>‹›〔〕“”]+")
_OPEN, _CLOSE = frozenset("<‹〔"), frozenset(">›〕")
_PAUSE = re.compile(r"\((?:\.{1,3}|\d+(?::\d+)?(?:\.\d*)?)\)")  # (.) (..) (...) (2.5) (1:02.5) (2.)
_RETRACE = re.compile(r"/{1,3}[-?]?")  # [/] [//] [///] [/-] [/?]
_REPEAT = re.compile(r"x\s*(\d+)")  # [x 3]: said three times
_REPLACE = re.compile(r"::?\s+(.*)", re.S)  # [: target], [:: target]
_LINKERS = frozenset({"+<", "++", "+^", '+"', "+,", "+≈", "+≋"})
_TRAIL_OFF = frozenset({"+...", "+..?"})
_QUESTION = frozenset({"?", "+..?", "+/?", "+//?", "+!?", "+/??", "+?"})
_TERMINATORS = frozenset(
    {".", "?", "!", "+...", "+..?", "+!?", "+/.", "+/?", "+//.", "+//?", "+/??", '+"/.', '+".', "+.", "+?"}
)
# Separators, CA intonation arrows and TCU marks that stand alone between words.
_SEPARATORS = frozenset({",", ";", ":", "„", "‡", "→", "↗", "↘", "⇗", "⇘", "↖", "↙", "←", "∞", "≡", "≈", "≋"})
_UNTRANSCRIBED = frozenset({"www"})
_SEGMENT_REPETITION = re.compile(r"↫[^↫]*↫")  # ↫b-b-b↫boy: the repeated segment is no word
# Inside a word: overlap points (⌊2), stress (ˈ), and the CA marks that are letters to Unicode
# (Ἡ laugh, Ϋ yawn); then whatever is no letter, digit, ' or -: CA marks, lengthening
# (wa:ter), syllable pauses (rhi^no), underlining ...
_WORD_MARKS = re.compile(r"[⌈⌉⌊⌋]\d*|[ˈˌἩΫ]|[^\w'’-]")


@dataclass(frozen=True)
class ChatUtterance:
    speaker: str
    raw: str  # main tier, continuation lines joined, bullets kept
    line: int  # 1-based line of the *SPEAKER: line in the file
    parsed: Parsed | None = field(default=None, compare=False, repr=False)  # for the speaker read


@dataclass(frozen=True)
class Note:
    """Something the reader tolerated: worth a look, no reason to reject the transcript."""

    line: int | None
    kind: str  # a short category: "stray line", "unknown code" ... (summaries count by kind)
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.kind}: {self.detail}"


@dataclass(frozen=True)
class ChatFile:
    path: Path
    utterances: tuple[ChatUtterance, ...]
    participants: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> {age, sex, group, role}
    notes: tuple[Note, ...] = ()

    def speech(self, speaker: str = "PAR") -> tuple[ChatUtterance, ...]:
        return tuple(u for u in self.utterances if u.speaker == speaker)


# -- reading ------------------------------------------------------------------------------------


def read_chat(path: str | Path, *, speaker: str = "PAR") -> ChatFile:
    """Reads one .cha file for ``speaker``; raises :class:`CorpusError` naming file and line."""
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
    return _parse(path, text, speaker)


@dataclass
class _Tier:
    """The line being assembled: a header, a main tier or a dependent tier, with continuations."""

    kind: str  # "@", "*" or "%"
    name: str  # header name, speaker code or tier name
    pieces: list[str]
    line: int


def _parse(path: Path, text: str, speaker: str) -> ChatFile:
    lines = text.splitlines()
    utterances: list[ChatUtterance] = []
    headers: list[_Tier] = []
    notes: list[Note] = []
    has_begin = has_end = False
    current: _Tier | None = None

    def flush() -> None:
        if current is None:
            return
        body = " ".join(p.strip() for p in current.pieces).strip()
        if current.kind == "*":
            utterances.append(ChatUtterance(current.name, body, current.line))
        elif current.kind == "@":
            headers.append(_Tier("@", current.name, [body], current.line))

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        first = line[0]
        if has_end:
            if first == "*" and line[1:].startswith(f"{speaker}:"):
                raise CorpusError(path, f"*{speaker} speech after @End", line=number, fix="move it above @End")
            notes.append(Note(number, "text after @End", line[:40]))
            continue
        if first in " \t":
            if current is None:
                notes.append(Note(number, "stray line", "a continuation line with nothing above it"))
            else:
                current.pieces.append(line)
            continue
        if first not in "@*%":
            if current is not None and current.kind == "*" and current.name == speaker:
                raise CorpusError(
                    path,
                    f"line does not start with @, *, % or a tab: {line[:40]!r}",
                    line=number,
                    fix="join it to the line above with a leading tab, or fix the tier prefix",
                )
            # continues a line we do not read (another speaker, a tier, a header): noted, kept out
            notes.append(Note(number, "stray line", f"no @, *, % or tab at the start: {line[:40]!r}"))
            continue
        flush()
        current = None
        if first == "@":
            name, _, value = line[1:].partition(":")
            name = name.strip()
            has_begin |= name == "Begin"
            has_end = name == "End"
            current = _Tier("@", name, [value], number)
        elif first == "*":
            match = re.match(r"\*([^:\s]+):(.*)$", line)
            if match is None:
                if line[1:].startswith(speaker):
                    raise CorpusError(path, "malformed main tier, expected '*CODE:<TAB>text'", line=number)
                notes.append(Note(number, "malformed main tier", line[:40]))
                continue
            current = _Tier("*", match.group(1), [match.group(2)], number)
        else:
            if not re.match(r"%[^:\s]+:", line):
                notes.append(Note(number, "malformed dependent tier", line[:40]))
            current = _Tier("%", line[1:].partition(":")[0], [], number)  # never read
    flush()

    if not has_begin:
        raise CorpusError(path, "no @Begin header", fix="not a CHAT file? add '@Begin' after '@UTF8'")
    if not has_end:
        raise CorpusError(path, "no @End line: the file looks truncated", fix="re-export it, or add '@End' if complete")
    if not any(u.speaker == speaker for u in utterances):
        raise NoSpeechError(path, f"no *{speaker} line: no participant speech to read", fix="check the speaker code")
    conversation_analysis = any(h.name == "Options" and "CA" in h.pieces[0] for h in headers)
    for i, u in enumerate(utterances):
        if u.speaker == speaker:
            _check_brackets(path, u)
            parsed = parse_main_tier(u.raw)
            notes.extend(Note(u.line, kind, detail) for kind, detail in parsed.notes)
            if not parsed.terminator and not conversation_analysis:  # CA transcripts may end without one
                notes.append(Note(u.line, "no terminator", "the utterance does not end in . ? ! or +..."))
            utterances[i] = ChatUtterance(u.speaker, u.raw, u.line, parsed)
    return ChatFile(
        path=path, utterances=tuple(utterances), participants=_participants(headers, notes), notes=tuple(notes)
    )


def _participants(headers: list[_Tier], notes: list[Note]) -> dict[str, dict[str, str]]:
    """@Participants names and roles, completed by the @ID lines (language|corpus|code|age|sex|group|...)."""
    out: dict[str, dict[str, str]] = {}
    for header in headers:
        value = header.pieces[0]
        if header.name == "Participants":
            for item in value.split(","):
                words = item.split()
                if words:
                    out.setdefault(words[0], {"age": "", "sex": "", "group": "", "role": words[-1]})
        elif header.name == "ID":
            parts = [f.strip() for f in value.split("|")]
            if len(parts) < 8:
                notes.append(Note(header.line, "malformed @ID", f"{len(parts)} fields, expected 10"))
                continue
            entry = out.setdefault(parts[2], {"age": "", "sex": "", "group": "", "role": ""})
            entry.update(age=parts[3], sex=parts[4], group=parts[5], role=parts[7] or entry["role"])
    return out


# -- one main tier ------------------------------------------------------------------------------


@dataclass
class _Unit:
    """A word or a < > group, as said and as meant; codes after it act on it."""

    said: list[str]
    meant: list[str]


@dataclass
class Parsed:
    """One main tier read: the words said and meant, the terminator, and the counts."""

    said: list[str] = field(default_factory=list)
    meant: list[str] = field(default_factory=list)
    terminator: str = ""
    excluded: bool = False
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("fillers", "retracings", "unintelligible", "pauses", "trailing_offs", "fragments"), 0
        )
    )
    notes: list[tuple[str, str]] = field(default_factory=list)  # (kind, detail)


def _tokens(raw: str) -> list[str]:
    """The tokens of a main tier, bullets gone; a terminator written against the last word is split off."""
    tokens = _TOKEN.findall(_BULLET.sub(" ", raw))
    last = next((i for i in range(len(tokens) - 1, -1, -1) if tokens[i][0] != "["), None)
    if last is not None:
        token = tokens[last]
        if len(token) > 1 and token[-1] in ".?!" and token not in _TERMINATORS and not _PAUSE.fullmatch(token):
            tokens[last : last + 1] = [token[:-1], token[-1]]  # &*INV:oh. -> &*INV:oh .
    return tokens


def _word(token: str) -> str:
    """The spoken word of a CHAT word token: markers gone, shortenings filled in."""
    word = _SEGMENT_REPETITION.sub("", token)
    word = word.split("@", 1)[0].split("$", 1)[0]  # word@l, word@s:spa (special forms); word$n (POS tag)
    word = word.replace("(", "").replace(")", "")  # fallin(g), (be)cause: shortenings, the full form
    word = word.replace("_", " ").replace("+", " ")  # compounds: cookie_jar, ice+cream
    return " ".join(_WORD_MARKS.sub("", part) for part in word.split())


def parse_main_tier(raw: str) -> Parsed:
    """Reads one main tier (raw CHAT) into words said and meant, the terminator and the counts."""
    out = Parsed()
    counts = out.counts
    stack: list[list[_Unit]] = [[]]  # one frame per open < > group
    for token in _tokens(raw):
        units = stack[-1]
        if token[0] == "[":
            _apply_code(token[1:-1].strip(), units, out)
        elif token in _OPEN:
            stack.append([])
        elif token in _CLOSE:
            if len(stack) == 1:
                out.notes.append(("unbalanced group", f"{token} without its opening"))
                continue
            inner = stack.pop()
            stack[-1].append(_Unit([w for u in inner for w in u.said], [w for u in inner for w in u.meant]))
        elif token in "“”":
            continue  # quotation marks: the words inside are said
        elif token in _TERMINATORS:
            out.terminator = token
            counts["trailing_offs"] += token in _TRAIL_OFF
        elif token in _LINKERS or token in _SEPARATORS:
            continue
        elif _PAUSE.fullmatch(token):
            counts["pauses"] += 1
            units.append(_Unit([PAUSE_MARK], []))
        elif token[0] == "&":
            _apply_ampersand(token, units, counts)
        elif token[0] == "0":
            continue  # 0is: an omitted word, not said
        elif token.lower() in UNINTELLIGIBLE:
            counts["unintelligible"] += 1
            units.append(_Unit([token.lower()], []))
        elif token.lower() in _UNTRANSCRIBED:
            continue
        elif token.startswith("+"):
            out.notes.append(("unknown linker or terminator", token))
        else:
            word = _word(token)
            if re.search(r"\w", word):  # else a CA mark or overlap point standing alone
                units.append(_Unit(word.split(), word.split()))
    if len(stack) > 1:
        out.notes.append(("unbalanced group", "< without its closing >"))
        while len(stack) > 1:
            inner = stack.pop()
            stack[-1].extend(inner)
    for unit in stack[0]:
        out.said.extend(unit.said)
        out.meant.extend(unit.meant)
    return out


def _apply_ampersand(token: str, units: list[_Unit], counts: dict[str, int]) -> None:
    """&-uh filler, &+fr fragment, &=event, &~nonword, &*SPK:word, &{l=..., and the older &uh / &fr."""
    kind, rest = token[1:2], token[2:]
    if kind == "-":
        counts["fillers"] += 1
        units.append(_Unit(_word(rest).lower().split(), []))  # said, not meant: verbatim only
    elif kind == "+":
        counts["fragments"] += 1
    elif kind in ("=", "~", "*", "{", "}"):
        return  # events, nonwords, another speaker's interjection, long events: no words of this speaker
    elif token[1:].lower() in FILLERS:
        counts["fillers"] += 1  # older Pitt files: &uh
        units.append(_Unit([token[1:].lower()], []))
    else:
        counts["fragments"] += 1  # older Pitt files: &fr


def _apply_code(code: str, units: list[_Unit], out: Parsed) -> None:
    """A code in [ ] after a word or group: only a few change the words or the counts."""
    target = units[-1] if units else None
    if _RETRACE.fullmatch(code):
        out.counts["retracings"] += 1  # [/] [//] [///] [/-]: the retraced words were said, they stay
        if code != "/" and target is not None:
            target.said = [*target.said, RETRACE_MARK]  # a repetition shows itself; a correction needs the mark
    elif (repeat := _REPEAT.fullmatch(code)) is not None:
        times = int(repeat.group(1))
        if target is not None and times > 1:
            out.counts["retracings"] += times - 1
            target.said, target.meant = target.said * times, target.meant * times
    elif (replace := _REPLACE.fullmatch(code)) is not None:
        if target is not None:  # word [: target]: said stays, meant is the target
            target.meant = [w for t in replace.group(1).split() for w in _word(t).split() if re.search(r"\w", w)]
    elif code.startswith("+"):
        out.excluded |= code[1:].strip() == "exc"  # postcodes: [+ exc] excludes; [+ bch], [+ gram] ... do not
    elif code == "e":
        if target is not None:
            target.meant = []  # word [e]: said, but excluded from analysis (like [+ exc] for an utterance)
    elif code in ("*", "?", "!", "!!") or code[:1] in ("*", "=", "%", "^", "-", ">", "<", "#"):
        return  # error codes, explanations, comments, freecodes, precodes, overlaps, durations
    else:
        out.notes.append(("unknown code", f"[{code}]"))


def _check_brackets(path: Path, u: ChatUtterance) -> None:
    """An unclosed code or group: we cannot tell which words it covers, so the tier is unreadable."""
    text = _BULLET.sub(" ", u.raw)
    depth = 0
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if depth not in (0, 1):
            break
    if depth != 0 or text.count("[") != text.count("]"):
        raise CorpusError(path, "unbalanced [ ] in main tier", line=u.line, fix="close the code with ]")
    groups = re.sub(r"\[[^\]]*\]|\+<", " ", text)  # [<] [>] codes and the +< linker are no groups
    if sum(groups.count(c) for c in _OPEN) != sum(groups.count(c) for c in _CLOSE):
        raise CorpusError(path, "unbalanced < > in main tier", line=u.line, fix="close the group with >")


# -- cleaning -----------------------------------------------------------------------------------


def _ending(parsed: Parsed, *, verbatim: bool) -> str:
    if verbatim and parsed.terminator in _TRAIL_OFF:
        return "..."
    return "?" if parsed.terminator in _QUESTION else "!" if parsed.terminator == "!" else "."


def clean_text(parsed: Parsed) -> str:
    """Classifier text: the words meant (targets of [: x]), retraced words kept, one terminator."""
    return f"{' '.join(parsed.meant)}{_ending(parsed, verbatim=False)}" if parsed.meant else ""


def verbatim_text(parsed: Parsed) -> str:
    """What was said: fillers as words, the words as said (not their [: x] targets), '...' for trailing off."""
    return f"{' '.join(parsed.said)}{_ending(parsed, verbatim=True)}" if parsed.said else ""


def clean_utterance(raw: str) -> str:
    """Classifier text of one main tier: codes, fillers, pauses, events go; words said stay."""
    return clean_text(parse_main_tier(raw))


def disfluencies(parsed: list[Parsed]) -> Disfluencies:
    """The counts of parsed main tiers, summed; ``utterances`` is how many there are."""
    totals = dict.fromkeys(parsed[0].counts, 0) if parsed else {}
    for p in parsed:
        for key, value in p.counts.items():
            totals[key] += value
    return Disfluencies(utterances=len(parsed), **totals)


def count_disfluencies(raws: list[str] | tuple[str, ...]) -> Disfluencies:
    """Counts from the CHAT codes of main tiers (before any cleaning)."""
    return disfluencies([parse_main_tier(raw) for raw in raws])


def clean_verbatim(text: str) -> tuple[str, Disfluencies]:
    """Clean text and disfluency counts from verbatim text (a generator's output, CSV text).

    Fillers are bare words (uh, um); an immediately repeated word or short phrase, or a dash
    between words, counts as a retracing; ``(.)`` as a pause, ``xxx`` as unintelligible, a
    sentence ending in '...' as a trailing off (:mod:`detect.verbatim`). CHAT codes, if any, are
    cleaned too.
    """
    if CHAT_CODES.search(text):  # it is CHAT after all
        raws = [u for u in re.split(r"(?<=[.?!])\s+", text.strip()) if u]
        return " ".join(c for c in map(clean_utterance, raws) if c), count_disfluencies(raws)

    sentences = [s for s in SENTENCE.findall(hold_pauses(text)) if re.search(r"\w", s)]
    cleaned: list[str] = []
    fillers = retracings = trailing = unintelligible = pauses = 0
    for sentence in sentences:
        stripped = sentence.strip()
        pauses += stripped.count(PAUSE_SLOT)
        if stripped.endswith("...") or stripped.endswith("…"):
            trailing += 1
        kept: list[str] = []
        # a dash after a word marks a retracing (what was said before it was corrected); a repetition
        # is counted within the stretch between two dashes
        for n, stretch in enumerate(DASH.split(stripped)):
            retracings += bool(n and kept)
            words = []
            for token in WORD.findall(stretch):
                low = token.lower()
                if low in FILLERS:
                    fillers += 1
                elif low in UNINTELLIGIBLE:
                    unintelligible += 1
                else:
                    words.append(token)
            retracings += len(repeated_runs([w.lower() for w in words]))
            kept += words
        if kept:
            ending = "?" if stripped.endswith("?") else "!" if stripped.endswith("!") else "."
            cleaned.append(" ".join(kept) + ending)
    counts = Disfluencies(
        fillers=fillers,
        retracings=retracings,
        unintelligible=unintelligible,
        pauses=pauses,
        trailing_offs=trailing,
        utterances=len(sentences),
    )
    return " ".join(cleaned), counts
