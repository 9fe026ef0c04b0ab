"""Kept synthetic records in the corpus's own formats, to take elsewhere.

    cookiebench augment export runs/demo/synthetic/<group>/dpo.filtered.jsonl --format chat --out synth-dpo/

What leaves is what a benchmark keeps (the records that pass the required filters and their
best-of-n draw, :func:`augment.filters.select`) and passes the privacy check: no shared run of
words with a real training transcript. Classic copies, edits of real transcripts that stay in
their training fold, never pass it, so they are never exported; nor is a file never filtered.

Three formats, each read back by :func:`detect.readers.load_corpus` to the same clean text,
disfluency counts and labels:

- ``chat``: the ADReSS 2020 layout, ``train/transcription/cc|cd/<id>.cha`` with
  ``train/cc_meta_data.txt`` and ``cd_meta_data.txt`` (no age, gender or MMSE: ``NA``). Every
  file says it is synthetic: an ``@Comment`` naming the generator and condition (and the real
  transcripts it was derived from), and the participant's ``@ID`` with corpus ``cookiebench``
  and ``synthetic`` in its custom field. The verbatim text becomes CHAT as
  :func:`detect.chat.clean_verbatim` reads it (:mod:`detect.verbatim`): one utterance per
  sentence, fillers ``&-uh``, an immediate repetition ``<the boy> [/] the boy``, a correction
  (a dash between words) ``he [//] she``, a pause ``(.)``, a trailing off ``+...``. CHAT keeps
  words and codes, not punctuation inside a sentence: the verbatim read back has no commas.
- ``csv`` / ``jsonl``: ``synthetic.csv`` / ``synthetic.jsonl``, the project's columns (``id,
  speaker_id, label, text`` with the verbatim text, then ``split, source, generator, condition,
  parent_ids``), verbatim exactly.

:func:`export_transcripts` writes training transcripts (the benchmark's kept records, as
:func:`export_synthetic` does for every training set and condition of a run), and
:func:`kept_transcripts` turns a synthetic JSONL file's passing records into them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from augment.filters import FilterConfig, select
from augment.synthesize import Synthetic
from augment.synthetic import SyntheticDescription
from detect.chat import FILLERS, clean_utterance, clean_verbatim
from detect.errors import CorpusError
from detect.io import write_atomic, write_jsonl
from detect.records import Label, Transcript
from detect.verbatim import (
    CHAT_CODES,
    DASH,
    PAUSE_MARK,
    PAUSE_SLOT,
    SENTENCE,
    UNINTELLIGIBLE,
    WORD,
    hold_pauses,
    repeated_runs,
)

logger = logging.getLogger(__name__)

Format = Literal["chat", "csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("chat", "csv", "jsonl")
COLUMNS = ("id", "speaker_id", "label", "text", "split", "source", "generator", "condition", "parent_ids")
TABLE_NAME = "synthetic"  # synthetic.csv, synthetic.jsonl
GROUP = {Label.HC: ("cc", "Control"), Label.AD: ("cd", "ProbableAD")}  # ADReSS folder, CHAT @ID group
META_HEADER = "ID ; age ; gender ; mmse"
WRAP = 80  # CHAT lines wrap with a tab, as CLAN writes them
PRIVACY = "privacy"  # the verdict a record must pass to leave its training fold


def kept_transcripts(records: Iterable[SyntheticDescription], require: Sequence[str] | None = None) -> list[Transcript]:
    """The records that pass the filters in ``require`` (default: :class:`augment.filters.FilterConfig`'s)
    and privacy, and their best-of-n draw, as training transcripts; the condition is the record's
    stage (``sft``, ``dpo``) or generator kind (``prompt-only``)."""
    require = FilterConfig().require if require is None else tuple(require)
    kept = select(records, (*require, PRIVACY) if PRIVACY not in require else require)
    return [r.to_transcript(condition=r.generator.stage or r.generator.kind) for r in kept]


def shareable(synthetic: Synthetic) -> list[Transcript]:
    """A benchmark's kept transcripts whose records pass the privacy check."""
    private = {r.id for r in synthetic.records if PRIVACY not in r.verdicts or not r.verdicts[PRIVACY].passed}
    return [t for t in synthetic.kept if t.id not in private]


def export_synthetic(
    data: Mapping[str, Mapping[str, Synthetic]], out_dir: Path, formats: Sequence[Format] = FORMATS
) -> Path:
    """Each training set's kept records per condition that pass privacy, in
    ``out_dir/<set>/<condition>/``; returns ``out_dir``."""
    for key, by_condition in data.items():
        for condition, synthetic in by_condition.items():
            leaving = shareable(synthetic)
            if len(leaving) < len(synthetic.kept):
                logger.info(
                    "%s %s: %d of %d kept records share words with a real transcript (privacy): not exported",
                    key,
                    condition,
                    len(synthetic.kept) - len(leaving),
                    len(synthetic.kept),
                )
            if leaving:
                export_transcripts(leaving, out_dir / key / condition, formats)
    return out_dir


def export_transcripts(
    transcripts: Sequence[Transcript], out_dir: Path, formats: Sequence[Format] = FORMATS
) -> list[Path]:
    """Writes ``transcripts`` in each of ``formats`` into ``out_dir``: the corpus folder (``chat``)
    or the file (``csv``, ``jsonl``) that :func:`detect.readers.load_corpus` reads, returned in order."""
    if not transcripts:
        raise ValueError("no transcripts to export")
    seen: set[str] = set()
    for t in transcripts:
        if t.label is None:
            raise CorpusError(out_dir, f"transcript {t.id!r} has no label", fix="export labelled (AD/HC) records")
        if not re.fullmatch(r"[\w.-]+", t.id) or t.id in seen:
            problem = "is used twice" if t.id in seen else "cannot name a file"
            raise CorpusError(
                out_dir,
                f"transcript id {t.id!r} {problem}",
                fix="export records with unique, file-safe ids ([A-Za-z0-9_.-])",
            )
        seen.add(t.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {"chat": _write_chat, "csv": _write_csv, "jsonl": _write_jsonl}
    written = [writers[fmt](transcripts, out_dir) for fmt in formats]
    logger.info("exported %d synthetic transcripts to %s (%s)", len(transcripts), out_dir, ", ".join(formats))
    return written


# -- CHAT, ADReSS layout ----------------------------------------------------------------------------


def _group(t: Transcript) -> tuple[str, str]:
    assert t.label is not None, f"{t.id}: only labelled transcripts are exported (checked on entry)"
    return GROUP[t.label]


def _write_chat(transcripts: Sequence[Transcript], root: Path) -> Path:
    train = root / "train"
    ours = {(_group(t)[0], t.id) for t in transcripts}
    for group, _ in GROUP.values():
        folder = train / "transcription" / group
        folder.mkdir(parents=True, exist_ok=True)
        for stray in sorted(folder.glob("*.cha")):
            if (group, stray.stem) not in ours:  # it would have no metadata row: the read would fail
                raise CorpusError(stray, "is not among the records exported here", fix="export into an empty folder")
    mismatched = []
    for t in transcripts:
        utterances = chat_utterances(t.verbatim or t.text)
        if " ".join(c for c in map(clean_utterance, utterances) if c) != clean_verbatim(t.verbatim or t.text)[0]:
            mismatched.append(t.id)
        write_atomic(train / "transcription" / _group(t)[0] / f"{t.id}.cha", chat_file(t, utterances))
    if mismatched:
        logger.warning(
            "%d transcript(s) read back from CHAT with other words than their text (an underscore "
            "read as a space, a symbol that is no word), e.g. %s",
            len(mismatched),
            mismatched[0],
        )
    for group, _ in GROUP.values():
        rows = [f"{t.id} ; NA ;  ; NA" for t in transcripts if _group(t)[0] == group]
        write_atomic(train / f"{group}_meta_data.txt", "".join(f"{line}\n" for line in (META_HEADER, *rows)))
    return root


def chat_file(t: Transcript, utterances: Sequence[str]) -> str:
    """One synthetic transcript as a CHAT file, marked synthetic in its headers."""
    made = f"generator {t.source.generator or 'unknown'}, condition {t.source.condition or 'unknown'}"
    parents = (
        f"derived from {len(t.source.parent_ids)} real transcript(s): {' '.join(t.source.parent_ids)}"
        if t.source.parent_ids
        else ""
    )
    lines = [
        "@UTF8",
        "@Begin",
        "@Languages:\teng",
        "@Participants:\tPAR Participant",
        f"@ID:\teng|cookiebench|PAR|||{_group(t)[1]}||Participant||synthetic, {made}|",
        *_wrapped("@Comment:\t", f"SYNTHETIC text ({made}), not a real participant; exported by cookiebench"),
        *(_wrapped("@Comment:\t", parents) if parents else []),
        *(line for u in utterances for line in _wrapped("*PAR:\t", u)),
        "@End",
    ]
    return "\n".join(lines) + "\n"


def _wrapped(prefix: str, text: str) -> list[str]:
    """A header or tier, continued on tab-indented lines."""
    return textwrap.wrap(
        text, WRAP, initial_indent=prefix, subsequent_indent="\t", break_long_words=False, break_on_hyphens=False
    ) or [prefix.rstrip()]


def chat_utterances(verbatim: str) -> list[str]:
    """Verbatim text as CHAT main tiers, one per sentence as :func:`detect.chat.clean_verbatim` reads it.

    >>> chat_utterances("Uh the boy the boy is on the stool (.) he — she is falling... is he?")
    ['&-uh <the boy> [/] the boy is on the stool (.) he [//] she is falling +...', 'is he ?']
    """
    if CHAT_CODES.search(verbatim):  # CHAT already: its utterances as they are
        return [" ".join(u.split()) for u in re.split(r"(?<=[.?!])\s+", verbatim.strip()) if u.strip()]
    out = []
    for sentence in SENTENCE.findall(hold_pauses(verbatim)):  # '(.)' holds a '.'
        stripped = sentence.strip()
        if not re.search(r"\w", stripped):
            continue
        said: list[str] = []
        for stretch in DASH.split(stripped):  # a dash: the words before it were corrected, [//]
            if said and (last := _last_word(said)) is not None:
                said[last] += " [//]"
            said += _stretch(stretch)
        if stripped.endswith(("...", "…")):
            ending = "+..."
        else:
            ending = "?" if stripped.endswith("?") else "!" if stripped.endswith("!") else "."
        out.append(" ".join([*said, ending]))
    return out


def _stretch(text: str) -> list[str]:
    """CHAT tokens of verbatim words between two dashes: fillers as &-uh, repetitions as [/]."""
    tokens = re.findall(rf"{PAUSE_SLOT}|{WORD.pattern}", text)
    said = [
        PAUSE_MARK if w == PAUSE_SLOT else f"&-{w.lower()}" if w.lower() in FILLERS else w
        for w in tokens
        if w == PAUSE_SLOT or re.search(r"[^\W_]", w)
    ]
    kept = [i for i, w in enumerate(said) if _is_word(w)]
    for start, length in reversed(repeated_runs([said[i].lower() for i in kept])):
        first, last = kept[start], kept[start + length - 1]  # fillers and pauses in between go inside the group
        run = " ".join(said[first : last + 1])
        said[first : last + 1] = [f"{run} [/]" if first == last else f"<{run}> [/]"]
    return said


def _last_word(said: list[str]) -> int | None:
    return next((i for i in range(len(said) - 1, -1, -1) if _is_word(said[i])), None)


def _is_word(token: str) -> bool:
    """A CHAT token of ours that is a word said: no pause, filler or unintelligible word."""
    return token != PAUSE_MARK and not token.startswith("&-") and token.lower() not in UNINTELLIGIBLE


# -- the project's columns --------------------------------------------------------------------------


def _row(t: Transcript) -> dict[str, object]:
    return {
        "id": t.id,
        "speaker_id": t.speaker_id,
        "label": t.label.value if t.label else "",
        "text": t.verbatim or t.text,
        "split": t.split or "",
        "source": t.source.kind,
        "generator": t.source.generator or "",
        "condition": t.source.condition or "",
        "parent_ids": list(t.source.parent_ids),
    }


def _write_csv(transcripts: Sequence[Transcript], out_dir: Path) -> Path:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for t in transcripts:
        row = _row(t)
        writer.writerow({**row, "parent_ids": " ".join(row["parent_ids"])})  # type: ignore[arg-type]
    return write_atomic(out_dir / f"{TABLE_NAME}.csv", text.getvalue())


def _write_jsonl(transcripts: Sequence[Transcript], out_dir: Path) -> Path:
    return write_jsonl(out_dir / f"{TABLE_NAME}.jsonl", (json.dumps(_row(t), ensure_ascii=False) for t in transcripts))
