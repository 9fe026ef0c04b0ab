"""What a corpus read found and did (:class:`ReadReport`), and how it goes into MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from detect.chat import Note
from detect.errors import CorpusError


@dataclass
class ReadReport:
    """What a read found and did: the layout, files skipped, transcripts left out, visits, notes."""

    layout: str = "?"  # filled in by load_corpus
    root: Path = Path(".")
    skipped: list[CorpusError] = field(default_factory=list)  # bad input (--skip-bad)
    left_out: list[str] = field(default_factory=list)  # "path: reason", transcripts without speech to read
    visits: list[str] = field(default_factory=list)  # one line per speaker whose diagnosis changed
    notes: dict[str, list[Note]] = field(default_factory=dict)  # file -> what the CHAT reader tolerated
    excluded_utterances: int = 0  # [+ exc]

    def lines(self) -> list[str]:
        """The report, one line per item, each starting with its kind."""
        return [
            *(f"skipped: {e}" for e in self.skipped),
            *(f"left out: {line}" for line in self.left_out),
            *(f"visits: {line}" for line in self.visits),
            *(f"note: {path}: {note}" for path, notes in self.notes.items() for note in notes),
        ]

    def write(self, path: Path) -> None:
        path.write_text("".join(f"{line}\n" for line in self.lines()), encoding="utf-8")


def log_read_report(report: ReadReport, run_id: str | None = None) -> None:
    """Puts a read report in MLflow: ``corpus/read_report.txt`` and counts as metrics.

    Into ``run_id``, or the active run; the tracking URI must be set (it is, after
    :func:`detect.tracking.setup_tracking`).
    """
    import mlflow

    if not run_id:
        active = mlflow.active_run()
        if active is None:
            raise RuntimeError("log_read_report needs a run_id or an active MLflow run")
        run_id = active.info.run_id
    client = mlflow.MlflowClient()
    client.log_text(
        run_id,
        "".join(f"{line}\n" for line in report.lines()) or "nothing skipped or noted\n",
        "corpus/read_report.txt",
    )
    for name, value in (
        ("corpus_skipped_files", len(report.skipped)),
        ("corpus_left_out", len(report.left_out)),
        ("corpus_changed_diagnosis", len(report.visits)),
        ("corpus_excluded_utterances", report.excluded_utterances),
    ):
        client.log_metric(run_id, name, value)
