"""Corpus readers: ADReSS 2020, DementiaBank Pitt, a flat folder of .cha, CSV and JSONL.

:func:`load_corpus` finds the layout and reads it. Strict by default: the first bad file
stops the read with a one-line :class:`~detect.errors.CorpusError`. With ``skip_bad=True``
the bad files are left out and listed in :attr:`ReadReport.skipped`, never silently.
A transcript in which the participant says nothing (no ``*PAR`` line, or only events and
``xxx``) is no bad input: it is left out in either mode, and listed in
:attr:`ReadReport.left_out`.

Everything a read did is in its :class:`ReadReport` (``--report FILE`` writes it, one line
each, and :func:`log_read_report` puts it in MLflow): files skipped and why, transcripts
left out, the visit policy's decision for every speaker whose diagnosis changed, the
``[+ exc]`` utterances left out, and the notes of the CHAT reader (quirks it tolerated).
The console gets one line per file with notes; the notes themselves at ``--verbose``.

Visits: in Pitt a speaker is seen once a year or so, and a diagnosis can change between
visits (a Control visit, then Dementia ones). The data is right as released, so the
reader has a policy (:class:`Visits`, ``--visits``) and says what it did, one line per
such speaker. ``all`` (default): every visit is read with its own label, splits group
the speaker's visits together and stratify by the last diagnosis
(:meth:`~detect.records.Corpus.speaker_labels`). ``exclude-changed``: such speakers
are left out. ``first`` / ``last``: one visit per speaker, every speaker. Whatever the
policy, splits stay speaker-grouped.

ADReSS 2020 layout::

    train/cc_meta_data.txt   train/cd_meta_data.txt       ID ; age ; gender ; mmse
    train/transcription/cc/S001.cha   train/transcription/cd/S079.cha
    test/meta_data.txt                                    ID ; age ; gender
    test/meta_data_test.txt  (released labels)            ID ; age ; gender ; Label ; mmse
    test/transcription/S160.cha

Test labels come from the label file (``meta_data_test.txt``, ``test_labels.txt`` or
``test_results.txt``, which may hold only ``ID ; Label``); age, gender and MMSE from
whichever of the two files has them.

Pitt layout::

    Control/cookie/001-0.cha   Dementia/cookie/001-2.cha   (speaker 001, session 2)
"""

from __future__ import annotations

import logging
from collections import Counter
from enum import Enum
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from detect.errors import CorpusError
from detect.layouts import READERS, Reading
from detect.read_report import ReadReport, log_read_report
from detect.records import Corpus, Transcript

__all__ = [
    "LAYOUTS",
    "ReadOptions",
    "ReadReport",
    "Visits",
    "apply_visit_policy",
    "default_corpus_path",
    "detect_layout",
    "load_corpus",
    "log_read_report",
]

log = logging.getLogger(__name__)

LAYOUTS = tuple(READERS)


class Visits(str, Enum):
    """What to do with a speaker whose diagnosis changed between visits (see the module doc)."""

    all = "all"
    exclude_changed = "exclude-changed"
    first = "first"
    last = "last"


class ReadOptions(BaseModel):
    """How a command reads its corpus: ``--skip-bad``, ``--report``, ``--visits``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skip_bad: bool = Field(default=False, description="Leave out bad files (listed) instead of stopping at the first.")
    # excluded from dumps: where the report goes changes no result (nor a config's digest)
    report: Path | None = Field(
        default=None, exclude=True, description="Write what the read skipped, left out and noted to this file."
    )
    visits: Visits = Field(
        default=Visits.all,
        description="Speakers whose diagnosis changed between visits: all (each "
        "visit with its label, stratified by the last), exclude-changed, "
        "first or last (one visit per speaker).",
    )

    def load(self, path: str | Path | None = None, report: ReadReport | None = None) -> tuple[Corpus, ReadReport]:
        """Reads ``path`` (None: the simulated cohort) with these options; writes the report if asked.

        ``report``: a :class:`ReadReport` to fill in (default: a new one); it is returned too.
        """
        read = report if report is not None else ReadReport()
        try:
            corpus = load_corpus(path, skip_bad=self.skip_bad, report=read, visits=self.visits)
        finally:
            if self.report is not None:
                self.report.parent.mkdir(parents=True, exist_ok=True)
                read.write(self.report)
        return corpus, read


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
        raise CorpusError(
            path, f"unsupported file type {suffix!r}", fix="give a folder of .cha files, a .csv or a .jsonl"
        )
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
        path,
        "no known corpus layout found",
        fix="expected ADReSS (train/transcription/...), Pitt (Control/, Dementia/), .cha files, or a CSV/JSONL file",
    )


def load_corpus(
    path: str | Path | None = None,
    *,
    skip_bad: bool = False,
    report: ReadReport | None = None,
    visits: Visits | str = Visits.all,
) -> Corpus:
    """Reads a corpus in any known layout (None: the shipped simulated cohort).

    Pass a :class:`ReadReport` to learn the layout and everything the read left out;
    ``visits`` is the policy for speakers whose diagnosis changed (:class:`Visits`).
    """
    root = Path(path) if path is not None else default_corpus_path()
    visits = Visits(visits)
    layout = detect_layout(root)
    report = report if report is not None else ReadReport(layout, root)
    report.layout, report.root = layout, root
    transcripts = list(READERS[layout](root, Reading(report, skip_bad)))
    if not transcripts:
        raise CorpusError(
            root, f"no transcripts could be read ({layout} layout)", fix="see the files skipped or left out above"
        )
    try:
        corpus = Corpus(transcripts, layout=layout, root=str(root))
    except ValueError as e:
        raise CorpusError(root, str(e)) from None
    corpus = apply_visit_policy(corpus, visits, report)
    if report.excluded_utterances:
        log.info(
            "left out %d utterance(s) marked [+ exc] (excluded from analysis by the transcribers)",
            report.excluded_utterances,
        )
    log.info(
        "read %d transcripts from %s (%s layout)%s",
        len(corpus),
        root,
        layout,
        f"; {len(report.skipped)} file(s) skipped" if report.skipped else "",
    )
    return corpus


# -- visits ----------------------------------------------------------------------------------------


def _visit_counts(visits: list[Transcript]) -> str:
    """'1 HC visit, 3 AD visits', labels in the order they were first seen."""
    counts = Counter(t.label.value for t in visits if t.label is not None)
    return ", ".join(f"{n} {label} visit{'' if n == 1 else 's'}" for label, n in counts.items())


def apply_visit_policy(corpus: Corpus, visits: Visits, report: ReadReport) -> Corpus:
    """Applies ``visits`` (see the module doc); one line per speaker whose diagnosis changed."""
    changed = corpus.changed_diagnosis()
    for speaker, seen in changed.items():
        labels = [t.label.value for t in seen if t.label is not None]
        what = {
            Visits.all: f"labelled per visit, grouped by speaker, stratified by the last diagnosis ({labels[-1]})",
            Visits.exclude_changed: "left out (--visits exclude-changed)",
            Visits.first: f"kept the first visit only ({labels[0]})",
            Visits.last: f"kept the last visit only ({labels[-1]})",
        }[visits]
        line = f"speaker {speaker}: {_visit_counts(seen)} ({' -> '.join(labels)}): {what}"
        report.visits.append(line)
        log.info("%s", line)
    if visits == Visits.all:
        return corpus
    if visits == Visits.exclude_changed:
        return corpus.filter(lambda t: t.speaker_id not in changed)
    keep = {(v[0] if visits == Visits.first else v[-1]).id for v in corpus.visits().values()}
    kept = corpus.filter(lambda t: t.id in keep)
    if len(kept) < len(corpus):
        log.info("kept the %s visit of each speaker: %d of %d transcripts", visits.value, len(kept), len(corpus))
    return kept


# -- CHAT-based layouts ------------------------------------------------------------------------
