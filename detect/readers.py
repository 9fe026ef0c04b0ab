"""Corpus readers: ADReSS 2020, DementiaBank Pitt, a flat folder of .cha, CSV and JSONL.

:func:`load_corpus` finds the layout and reads it. Strict by default: the first bad file
stops the read with a one-line :class:`~detect.errors.CorpusError`. With ``skip_bad=True``
the bad files are left out and listed in :attr:`ReadReport.skipped`, never silently.

ADReSS 2020 layout::

    train/cc_meta_data.txt   train/cd_meta_data.txt       ID ; age ; gender ; mmse
    train/transcription/cc/S001.cha   train/transcription/cd/S079.cha
    test/meta_data.txt                                    ID ; age ; gender
    test/meta_data_test.txt  (released labels)            ID ; age ; gender ; Label ; mmse
    test/transcription/S160.cha

Pitt layout::

    Control/cookie/001-0.cha   Dementia/cookie/001-2.cha   (speaker 001, session 2)
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from detect.chat import (
    clean_utterance, clean_verbatim, count_disfluencies, is_excluded, read_chat, verbatim_utterance,
)
from detect.errors import CorpusError
from detect.records import Corpus, Label, Transcript

log = logging.getLogger(__name__)

LAYOUTS = ("adress", "pitt", "chat-folder", "csv", "jsonl")
TEST_LABEL_FILES = ("meta_data_test.txt", "test_labels.txt", "test_results.txt")


@dataclass
class ReadReport:
    """What a read found: the layout, and every file left out with the reason."""

    layout: str
    root: Path
    skipped: list[CorpusError] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.write_text("".join(f"{e}\n" for e in self.skipped), encoding="utf-8")


def default_corpus_path() -> Path:
    """The simulated cohort shipped inside the package (not clinical data)."""
    return Path(str(resources.files("detect") / "data" / "simulated"))


def detect_layout(path: Path) -> str:
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return "csv"
        if suffix in {".jsonl", ".ndjson"}:
            return "jsonl"
        raise CorpusError(path, f"unsupported file type {suffix!r}", fix="give a folder of .cha files, a .csv or a .jsonl")
    if not path.is_dir():
        raise CorpusError(path, "no such file or folder", fix="check the path")
    if (path / "train" / "transcription").is_dir() or (path / "test" / "transcription").is_dir():
        return "adress"
    children = {p.name.lower() for p in path.iterdir() if p.is_dir()}
    if {"control", "dementia"} & children:
        return "pitt"
    if any(path.glob("*.cha")):
        return "chat-folder"
    raise CorpusError(
        path, "no known corpus layout found",
        fix="expected ADReSS (train/transcription/...), Pitt (Control/, Dementia/), .cha files, or a CSV/JSONL file",
    )


def load_corpus(
    path: str | Path | None = None, *, skip_bad: bool = False, report: ReadReport | None = None
) -> Corpus:
    """Reads a corpus in any known layout (None: the shipped simulated cohort).

    Pass a :class:`ReadReport` to learn the layout and what was skipped.
    """
    root = Path(path) if path is not None else default_corpus_path()
    layout = detect_layout(root)
    report = report if report is not None else ReadReport(layout, root)
    report.layout, report.root = layout, root
    reader: Callable[[Path, Callable[[CorpusError], None]], Iterator[Transcript]] = {
        "adress": _read_adress,
        "pitt": _read_pitt,
        "chat-folder": _read_chat_folder,
        "csv": _read_csv,
        "jsonl": _read_jsonl,
    }[layout]

    def on_error(error: CorpusError) -> None:
        if not skip_bad:
            raise error
        log.warning("skipped %s", error)
        report.skipped.append(error)

    transcripts = list(reader(root, on_error))
    if not transcripts:
        raise CorpusError(root, f"no transcripts could be read ({layout} layout)", fix="see the skipped files above")
    try:
        corpus = Corpus(transcripts, layout=layout, root=str(root))
    except ValueError as e:
        raise CorpusError(root, str(e)) from None
    log.info("read %d transcripts from %s (%s layout)", len(corpus), root, layout)
    return corpus


# -- CHAT-based layouts ------------------------------------------------------------------------


def _from_chat(path: Path, **fields) -> Transcript:
    chat = read_chat(path)
    raws = [u.raw for u in chat.speech() if not is_excluded(u.raw)]
    clean = " ".join(c for c in map(clean_utterance, raws) if c)
    if not clean:
        raise CorpusError(path, "participant speech is empty after cleaning", fix="check the *PAR lines")
    par = chat.participants.get("PAR", {})
    fields.setdefault("age", _chat_age(par.get("age", "")))
    fields.setdefault("gender", par.get("sex") or None)
    if fields.get("label") is None and "label_from_header" in fields:
        fields["label"] = _group_label(par.get("group", ""))
    fields.pop("label_from_header", None)
    return Transcript(
        text=clean,
        verbatim=" ".join(v for v in map(verbatim_utterance, raws) if v),
        utterances=tuple(raws),
        disfluencies=count_disfluencies(raws),
        path=str(path),
        **fields,
    )


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
            on_error(CorpusError(
                path, f"malformed row: {len(cells)} fields, header has {len(header)}", line=number,
                fix="fields are separated by ';'",
            ))
            continue
        row = dict(zip(header, cells))
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


def _read_adress(root: Path, on_error) -> Iterator[Transcript]:
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
                    on_error(CorpusError(
                        meta_path, f"row for {sid} but no transcript {folder / (sid + '.cha')}", line=row.line,
                        fix="add the transcript or delete the row",
                    ))
            for sid, cha in on_disk.items():
                if sid in metas[other]:
                    on_error(CorpusError(
                        cha, f"transcript is in {group}/ but listed in {other}_meta_data.txt "
                        f"(line {metas[other][sid].line}): its label is ambiguous",
                        fix=f"move it to transcription/{other}/ or fix the metadata",
                    ))
                    continue
                row = metas[group].get(sid)
                if row is None:
                    on_error(CorpusError(cha, f"no row for {sid} in {meta_path.name}", fix="add its metadata row"))
                    continue
                try:
                    yield _from_chat(cha, id=sid, speaker_id=sid, label=label, split="train",
                                     age=row.age, gender=row.gender, mmse=row.mmse)
                except CorpusError as e:
                    on_error(e)

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
            row = labels.get(sid) or meta.get(sid)
            if row is None and (meta or labels):
                on_error(CorpusError(cha, f"no row for {sid} in the test metadata", fix="add its metadata row"))
                continue
            try:
                yield _from_chat(
                    cha, id=sid, speaker_id=sid, split="test",
                    label=labels[sid].label if sid in labels else None,
                    age=row.age if row else None, gender=row.gender if row else None,
                    mmse=row.mmse if row else None,
                )
            except CorpusError as e:
                on_error(e)
        for sid, row in {**meta, **labels}.items():
            if not (test / "transcription" / f"{sid}.cha").exists():
                source = test / ("meta_data.txt" if sid in meta else next(n for n in TEST_LABEL_FILES if (test / n).exists()))
                on_error(CorpusError(source, f"row for {sid} but no transcript", line=row.line,
                                     fix="add the transcript or delete the row"))


_PITT_NAME = re.compile(r"^(?P<speaker>\d+)-(?P<session>\d+)$")


def _read_pitt(root: Path, on_error) -> Iterator[Transcript]:
    groups = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    for group, label in (("control", Label.HC), ("dementia", Label.AD)):
        if group not in groups:
            continue
        folder = groups[group] / "cookie" if (groups[group] / "cookie").is_dir() else groups[group]
        for cha in sorted(folder.glob("*.cha")):
            match = _PITT_NAME.match(cha.stem)
            if not match:
                on_error(CorpusError(cha, "file name is not SPEAKER-SESSION.cha (e.g. 001-2.cha)",
                                     fix="rename it so speaker and session can be read"))
                continue
            try:
                yield _from_chat(cha, id=f"{group}/{cha.stem}", speaker_id=match["speaker"], label=label,
                                 session=int(match["session"]))
            except CorpusError as e:
                on_error(e)


def _read_chat_folder(root: Path, on_error) -> Iterator[Transcript]:
    for cha in sorted(root.glob("*.cha")):
        try:
            yield _from_chat(cha, id=cha.stem, speaker_id=cha.stem, label=None, label_from_header=True)
        except CorpusError as e:
            on_error(e)


# -- tabular layouts ---------------------------------------------------------------------------

_REQUIRED = ("id", "speaker_id", "label", "text")


def _from_row(path: Path, number: int, row: dict) -> Transcript:
    missing = [c for c in _REQUIRED if c not in row]
    if missing:
        raise CorpusError(path, f"missing column(s) {', '.join(missing)}", line=number,
                          fix="required: id, speaker_id, label, text")
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
        id=str(row["id"]), speaker_id=str(row["speaker_id"]), label=label, text=clean, verbatim=text,
        disfluencies=disfluencies, age=age, gender=_gender(_str(row.get("gender"))), mmse=mmse,
        split=split, session=session, path=f"{path}:{number}",
    )


def _str(value) -> str | None:
    return None if value is None else str(value)


def _read_csv(path: Path, on_error) -> Iterator[Transcript]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                raise CorpusError(path, "empty CSV", fix="expected a header: id,speaker_id,label,text")
            missing = [c for c in _REQUIRED if c not in reader.fieldnames]
            if missing:
                raise CorpusError(path, f"missing column(s) {', '.join(missing)}", line=1,
                                  fix="required header: id,speaker_id,label,text")
            for row in reader:
                try:
                    yield _from_row(path, reader.line_num, row)
                except CorpusError as e:
                    on_error(e)
    except UnicodeDecodeError:
        raise CorpusError(path, "not UTF-8 text", fix="save the CSV as UTF-8") from None


def _read_jsonl(path: Path, on_error) -> Iterator[Transcript]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise CorpusError(path, "not UTF-8 text", fix="save the file as UTF-8") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            on_error(CorpusError(path, f"invalid JSON: {e}", line=number, fix="one JSON object per line"))
            continue
        try:
            yield _from_row(path, number, row)
        except CorpusError as e:
            on_error(e)
