"""The corpus layouts, one reader each: ADReSS 2020, DementiaBank Pitt, a folder of .cha, CSV and JSONL.

Each reader yields the transcripts it could read and sends what it could not, or left out, to a :class:`Reading`;
:func:`detect.readers.load_corpus` picks one by layout (:data:`READERS`). The layouts are described in
:mod:`detect.readers`.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from detect.chat import Note, clean_text, clean_verbatim, disfluencies, read_chat, verbatim_text
from detect.errors import CorpusError, NoSpeechError
from detect.io import read_jsonl
from detect.read_report import ReadReport
from detect.records import Label, Transcript

log = logging.getLogger(__name__)

TEST_LABEL_FILES = ("meta_data_test.txt", "test_labels.txt", "test_results.txt")
SPEAKER = "PAR"  # the participant: the only speaker whose speech is read


class Reading:
    """Where the readers send what they find: bad files (raised or skipped), notes, left-outs."""

    def __init__(self, report: ReadReport, skip_bad: bool):
        self.report = report
        self.skip_bad = skip_bad

    def error(self, error: CorpusError) -> None:
        if not self.skip_bad:
            raise error
        log.warning("skipped %s", error)
        self.report.skipped.append(error)

    def chat(self, path: Path, **fields) -> Transcript | None:
        """The transcript of one .cha file; None when it is bad (skipped) or holds no speech to read."""
        try:
            chat = read_chat(path, speaker=SPEAKER)
        except NoSpeechError:
            self._left_out(path, f"no *{SPEAKER} line: the participant says nothing")
            return None
        except CorpusError as e:
            self.error(e)
            return None
        if chat.notes:
            self._notes(path, list(chat.notes))
        # [+ exc]: the transcribers excluded these from analysis; so do the text and the counts
        speech = [u for u in chat.speech(SPEAKER) if u.parsed is not None and not u.parsed.excluded]
        self.report.excluded_utterances += len(chat.speech(SPEAKER)) - len(speech)
        parsed = [u.parsed for u in speech if u.parsed is not None]  # all of them
        clean = " ".join(c for c in map(clean_text, parsed) if c)
        if not clean:
            self._left_out(path, f"no words in the *{SPEAKER} lines (only events, xxx, excluded talk ...)")
            return None
        par = chat.participants.get(SPEAKER, {})
        if fields.get("age") is None:  # metadata first, else the @ID header
            fields["age"] = _chat_age(par.get("age", ""))
        if fields.get("gender") is None:
            fields["gender"] = par.get("sex") or None
        if fields.get("label") is None and "label_from_header" in fields:
            fields["label"] = _group_label(par.get("group", ""))
        fields.pop("label_from_header", None)
        return Transcript(
            text=clean,
            verbatim=" ".join(v for v in map(verbatim_text, parsed) if v),
            utterances=tuple(u.raw for u in speech),
            disfluencies=disfluencies(parsed),
            path=str(path),
            **fields,
        )

    def _left_out(self, path: Path, reason: str) -> None:
        log.warning("left out %s: %s", path, reason)
        self.report.left_out.append(f"{path}: {reason}")

    def _notes(self, path: Path, notes: list[Note]) -> None:
        self.report.notes[str(path)] = notes
        kinds = Counter(n.kind for n in notes)
        log.info(
            "%s: %s (tolerated; --verbose for details)",
            path,
            ", ".join(f"{n} x {kind}" for kind, n in kinds.most_common()),
        )
        for note in notes:
            log.debug("%s: %s", path, note)


def _chat_age(age: str) -> float | None:
    match = re.match(r"\s*(\d+)", age or "")
    return float(match.group(1)) if match else None


def _group_label(group: str) -> Label | None:
    group = group.strip().lower()
    if not group:
        return None
    if "control" in group:
        return Label.HC
    if "ad" in group or "dementia" in group or "mci" in group:
        return Label.AD
    return None


@dataclass(frozen=True)
class _MetaRow:
    id: str
    age: float | None
    gender: str | None
    mmse: float | None
    label: Label | None
    line: int


def _read_meta(path: Path, on_error) -> dict[str, _MetaRow]:
    """ADReSS metadata: ';'-separated with a header row; columns found by name."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        on_error(CorpusError(path, f"cannot read metadata: {e}", fix="it must be UTF-8 text"))
        return {}
    if not lines:
        on_error(CorpusError(path, "metadata file is empty", fix="expected a header 'ID ; age ; gender ; mmse'"))
        return {}
    header = [h.strip().lower() for h in lines[0].split(";")]
    if "id" not in header:
        on_error(CorpusError(path, "no 'ID' column in the header", line=1, fix="expected 'ID ; age ; gender ; mmse'"))
        return {}
    rows: dict[str, _MetaRow] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(";")]
        if len(cells) != len(header):
            on_error(
                CorpusError(
                    path,
                    f"malformed row: {len(cells)} fields, header has {len(header)}",
                    line=number,
                    fix="fields are separated by ';'",
                )
            )
            continue
        row = dict(zip(header, cells, strict=True))
        try:
            rows[row["id"]] = _MetaRow(
                id=row["id"],
                age=_number(row.get("age")),
                gender=_gender(row.get("gender")),
                mmse=_number(row.get("mmse")),
                label=Label.parse(row["label"]) if "label" in row else None,
                line=number,
            )
        except ValueError as e:
            on_error(CorpusError(path, f"malformed row: {e}", line=number))
    return rows


def _number(value: str | None) -> float | None:
    if value is None or value.strip().upper() in {"", "NA", "NAN", "N/A", "?"}:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number (use NA for missing)") from None


def _gender(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    # ADReSS writes 0/1 in some releases, male/female in others.
    return {"0": "male", "1": "female"}.get(value.strip(), value.strip().lower())


def _read_adress(root: Path, reading: Reading) -> Iterator[Transcript]:
    on_error = reading.error
    train = root / "train"
    if train.is_dir():
        metas = {group: _read_meta(train / f"{group}_meta_data.txt", on_error) for group in ("cc", "cd")}
        for group, label in (("cc", Label.HC), ("cd", Label.AD)):
            other = "cd" if group == "cc" else "cc"
            folder = train / "transcription" / group
            meta_path = train / f"{group}_meta_data.txt"
            on_disk = {p.stem: p for p in sorted(folder.glob("*.cha"))}
            for sid, row in metas[group].items():
                if sid not in on_disk:
                    on_error(
                        CorpusError(
                            meta_path,
                            f"row for {sid} but no transcript {folder / (sid + '.cha')}",
                            line=row.line,
                            fix="add the transcript or delete the row",
                        )
                    )
            for sid, cha in on_disk.items():
                if sid in metas[other]:
                    on_error(
                        CorpusError(
                            cha,
                            f"transcript is in {group}/ but listed in {other}_meta_data.txt "
                            f"(line {metas[other][sid].line}): its label is ambiguous",
                            fix=f"move it to transcription/{other}/ or fix the metadata",
                        )
                    )
                    continue
                found = metas[group].get(sid)
                if found is None:
                    on_error(CorpusError(cha, f"no row for {sid} in {meta_path.name}", fix="add its metadata row"))
                    continue
                t = reading.chat(
                    cha,
                    id=sid,
                    speaker_id=sid,
                    label=label,
                    split="train",
                    age=found.age,
                    gender=found.gender,
                    mmse=found.mmse,
                )
                if t is not None:
                    yield t

    test = root / "test"
    if test.is_dir():
        meta = _read_meta(test / "meta_data.txt", on_error) if (test / "meta_data.txt").exists() else {}
        labels: dict[str, _MetaRow] = {}
        for name in TEST_LABEL_FILES:
            if (test / name).exists():
                labels = _read_meta(test / name, on_error)
                break
        for cha in sorted((test / "transcription").glob("*.cha")):
            sid = cha.stem
            rows = [r for r in (meta.get(sid), labels.get(sid)) if r is not None]
            if not rows and (meta or labels):
                on_error(CorpusError(cha, f"no row for {sid} in the test metadata", fix="add its metadata row"))
                continue
            t = reading.chat(
                cha,
                id=sid,
                speaker_id=sid,
                split="test",
                label=labels[sid].label if sid in labels else None,
                # the label file may hold only ID ; Label: each field from whichever file has it
                age=_first(r.age for r in rows),
                gender=_first(r.gender for r in rows),
                mmse=_first(r.mmse for r in rows),
            )
            if t is not None:
                yield t
        for sid, row in {**meta, **labels}.items():
            if not (test / "transcription" / f"{sid}.cha").exists():
                source = test / (
                    "meta_data.txt" if sid in meta else next(n for n in TEST_LABEL_FILES if (test / n).exists())
                )
                on_error(
                    CorpusError(
                        source,
                        f"row for {sid} but no transcript",
                        line=row.line,
                        fix="add the transcript or delete the row",
                    )
                )


_PITT_NAME = re.compile(r"^(?P<speaker>\d+)-(?P<session>\d+)$")


def _first(values: Iterator) -> object:
    return next((v for v in values if v is not None), None)


def _read_pitt(root: Path, reading: Reading) -> Iterator[Transcript]:
    groups = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for group, label in (("control", Label.HC), ("dementia", Label.AD)):
        if group not in groups:
            continue
        folder = groups[group] / "cookie" if (groups[group] / "cookie").is_dir() else groups[group]
        for cha in sorted(folder.glob("*.cha")):
            match = _PITT_NAME.match(cha.stem)
            if not match:
                reading.error(
                    CorpusError(
                        cha,
                        "file name is not SPEAKER-SESSION.cha (e.g. 001-2.cha)",
                        fix="rename it so speaker and session can be read",
                    )
                )
                continue
            t = reading.chat(
                cha, id=f"{group}/{cha.stem}", speaker_id=match["speaker"], label=label, session=int(match["session"])
            )
            if t is not None:
                yield t


def _read_chat_folder(root: Path, reading: Reading) -> Iterator[Transcript]:
    for cha in sorted(root.glob("*.cha")):
        t = reading.chat(cha, id=cha.stem, speaker_id=cha.stem, label=None, label_from_header=True)
        if t is not None:
            yield t


# -- tabular layouts ---------------------------------------------------------------------------

_REQUIRED = ("id", "speaker_id", "label", "text")


def _from_row(path: Path, number: int, row: dict) -> Transcript:
    missing = [c for c in _REQUIRED if c not in row]
    if missing:
        raise CorpusError(
            path, f"missing column(s) {', '.join(missing)}", line=number, fix="required: id, speaker_id, label, text"
        )
    text = str(row["text"] or "").strip()
    if not text:
        raise CorpusError(path, f"empty text for id {row['id']!r}", line=number, fix="remove the row or fill it")
    try:
        label = Label.parse(row["label"])
        age, mmse = _number(_str(row.get("age"))), _number(_str(row.get("mmse")))
        session = int(row["session"]) if _str(row.get("session")) else None
    except ValueError as e:
        raise CorpusError(path, str(e), line=number) from None
    split = _str(row.get("split")) or None
    if split not in (None, "train", "test"):
        raise CorpusError(path, f"split must be train or test, got {split!r}", line=number)
    clean, disfluencies = clean_verbatim(text)
    return Transcript(
        id=str(row["id"]),
        speaker_id=str(row["speaker_id"]),
        label=label,
        text=clean,
        verbatim=text,
        disfluencies=disfluencies,
        age=age,
        gender=_gender(_str(row.get("gender"))),
        mmse=mmse,
        split=split,
        session=session,
        path=f"{path}:{number}",
    )


def _str(value) -> str | None:
    return None if value is None else str(value)


def _read_csv(path: Path, reading: Reading) -> Iterator[Transcript]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                raise CorpusError(path, "empty CSV", fix="expected a header: id,speaker_id,label,text")
            missing = [c for c in _REQUIRED if c not in reader.fieldnames]
            if missing:
                raise CorpusError(
                    path,
                    f"missing column(s) {', '.join(missing)}",
                    line=1,
                    fix="required header: id,speaker_id,label,text",
                )
            for row in reader:
                try:
                    yield _from_row(path, reader.line_num, row)
                except CorpusError as e:
                    reading.error(e)
    except UnicodeDecodeError:
        raise CorpusError(path, "not UTF-8 text", fix="save the CSV as UTF-8") from None


def _read_jsonl(path: Path, reading: Reading) -> Iterator[Transcript]:
    fix = "one JSON object per line"
    for number, row in read_jsonl(path, fix=fix, on_error=reading.error):
        if not isinstance(row, dict):
            reading.error(CorpusError(path, "not a JSON object", line=number, fix=fix))
            continue
        try:
            yield _from_row(path, number, row)
        except CorpusError as e:
            reading.error(e)


READERS: dict[str, Callable[[Path, Reading], Iterator[Transcript]]] = {
    "adress": _read_adress,
    "pitt": _read_pitt,
    "chat-folder": _read_chat_folder,
    "csv": _read_csv,
    "jsonl": _read_jsonl,
}
