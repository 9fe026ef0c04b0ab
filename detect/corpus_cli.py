"""`cookiebench corpus ...`: read a corpus, take a first look at it, put its statistics beside a reference.

Also home of the reading options every command that reads a corpus shares
(``--skip-bad``, ``--report``, ``--visits``): declared once here, reused by ``detect``,
``augment`` and ``benchmark``, and turned into :class:`~detect.readers.ReadOptions`. They
default to "not given" (:mod:`detect.cli_options`): ``ReadOptions``' defaults apply, and a
flag given overrides a config's value whatever its value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from detect.cli_options import ConfigDefaults, Default
from detect.logs import STDERR
from detect.readers import ReadOptions, ReadReport, Visits

corpus_app = typer.Typer(help="Read transcripts and look at them.", no_args_is_help=True)
console = Console()  # results; status and logs go to STDERR

PathArg = Annotated[
    Path | None,
    typer.Argument(
        help="Corpus folder (ADReSS, Pitt, .cha files) or a .csv/.jsonl file. Default: the simulated cohort."
    ),
]
SkipBadOpt = Annotated[
    bool | None,
    typer.Option("--skip-bad/--no-skip-bad", help="Leave out bad files (each listed) instead of stopping."),
    Default("detect.readers:ReadOptions.skip_bad"),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="Write what the read skipped, left out and noted to this file, one line each."),
]
VisitsOpt = Annotated[
    Visits | None,
    typer.Option(
        "--visits",
        help="A speaker whose diagnosis changed between visits (Pitt): all = every visit with its "
        "own label, stratified by the last; exclude-changed = leave such speakers out; "
        "first / last = one visit per speaker.",
    ),
    Default("detect.readers:ReadOptions.visits"),
]


def read_options(skip_bad: bool | None = None, report: Path | None = None, visits: Visits | None = None) -> ReadOptions:
    """The shared options of a command as :class:`ReadOptions` (``ReadOptions(...).load(path)`` reads)."""
    return with_flags(ReadOptions(), skip_bad, report, visits)


def with_flags(options: ReadOptions, skip_bad: bool | None, report: Path | None, visits: Visits | None) -> ReadOptions:
    """A config's reading options with the flags that were given (not None) laid over them, whatever their value."""
    given = {"skip_bad": skip_bad, "report": report, "visits": visits}
    return options.model_copy(update={k: v for k, v in given.items() if v is not None})


@corpus_app.command(cls=ConfigDefaults)
def inspect(
    path: PathArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output, the only thing on stdout.")] = False,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """A newcomer's first look: layout, speakers and transcripts per class and split, marker means by class."""
    corpus, read = read_options(skip_bad, report, visits).load(path)
    from detect.markers import MarkerExtractor, marker_means_by_label  # spaCy loads once the corpus is known good

    with STDERR.status(f"measuring markers of {len(corpus)} transcripts"):
        means = marker_means_by_label(corpus, MarkerExtractor(show_progress=False))

    if as_json:
        payload = {
            "path": str(read.root),
            "layout": read.layout,
            "transcripts": len(corpus),
            "speakers": len(corpus.speakers()),
            "counts": corpus.counts(),
            "skipped": [str(e) for e in read.skipped],
            "left_out": read.left_out,
            "visits": read.visits,
            "excluded_utterances": read.excluded_utterances,
            "marker_means": {str(label): row.dropna().to_dict() for label, row in means.iterrows()},
            "digest": corpus.digest(),
        }
        typer.echo(json.dumps(payload, indent=2))
        return

    console.print(
        f"[bold]{read.root}[/bold]: {read.layout} layout, {len(corpus)} transcripts, "
        f"{len(corpus.speakers())} speakers, digest {corpus.digest()}"
    )
    if read.layout == "adress" and read.root.resolve() == _default_root():
        console.print("[yellow]This is the shipped SIMULATED cohort: its numbers are not clinical results.[/yellow]")
    counts = Table(title="Speakers and transcripts")
    for column in ("split", "label", "speakers", "transcripts"):
        counts.add_column(column, justify="right" if column in {"speakers", "transcripts"} else "left")
    for key, row in corpus.counts().items():
        split, label = key.split("/")
        counts.add_row(split, label, str(row["speakers"]), str(row["transcripts"]))
    console.print(counts)

    table = Table(title="Marker means by class")
    table.add_column("marker")
    for label in means.index:
        table.add_column(str(label), justify="right")
    for marker in means.columns:
        table.add_row(marker, *(f"{means.loc[label, marker]:.3f}" for label in means.index))
    console.print(table)
    print_read_summary(read)


@corpus_app.command(cls=ConfigDefaults)
def stats(
    path: PathArg = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="A statistics file (the JSON of `corpus stats --json`) or a second corpus "
            "(read with the same options). Default: the shipped real Pitt figures.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the statistics as JSON (a reference file).")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the tables as Markdown to this file.")] = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Marker means (SD) per class and diversity ranges, beside a reference, with each figure's bounds.

    Bounds: a mean within 10% of the reference's, an SD within 20%, a distinct-2 or self-similarity
    range (random subsets of 20 and 40 transcripts) inside the reference's.
    """
    from detect import corpus_stats

    options = read_options(skip_bad, report, visits)
    ref = _reference(reference, options.model_copy(update={"report": None})) if not as_json else None
    corpus, read = options.load(path)
    from detect.markers import MarkerExtractor  # spaCy loads once the corpus is known good

    mine = corpus_stats.measure(
        list(corpus),
        name=_corpus_name(read.root),
        provenance=_provenance(read, len(corpus)),
        extractor=MarkerExtractor(show_progress=False),
    )
    if as_json or ref is None:  # no reference is read for --json
        typer.echo(mine.to_json(), nl=False)
        return
    table = corpus_stats.markdown(mine, ref)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"{mine.name}: {mine.provenance}\n\n{ref.name}: {ref.provenance}\n\n{table}", encoding="utf-8")
    counts = {s.name: ", ".join(f"{n} {label}" for label, n in s.transcripts.items()) for s in (mine, ref)}
    typer.echo(f"{mine.name} ({counts[mine.name]} transcripts) against {ref.name} ({counts[ref.name]})\n")
    typer.echo(table, nl=False)
    if out is not None:
        typer.echo(f"wrote {out}")


def _reference(reference: Path | None, options: ReadOptions):
    """The reference statistics: the shipped Pitt figures, a JSON file, or measured on a second corpus."""
    from detect import corpus_stats
    from detect.errors import CorpusError

    if reference is None:
        return corpus_stats.shipped_reference()
    if reference.is_file() and reference.suffix.lower() == ".json":
        return corpus_stats.load_reference(reference)
    if not reference.exists():
        raise CorpusError(
            reference,
            "no such reference file or corpus",
            fix="give a file from `cookiebench corpus stats CORPUS --json` or a corpus folder",
        )
    corpus, read = options.load(reference)
    from detect.markers import MarkerExtractor

    return corpus_stats.measure(
        list(corpus),
        name=_corpus_name(read.root),
        provenance=_provenance(read, len(corpus)),
        extractor=MarkerExtractor(show_progress=False),
    )


def _corpus_name(root: Path) -> str:
    return "simulated" if root.resolve() == _default_root() else root.resolve().name


def _provenance(read: ReadReport, transcripts: int) -> str:
    from detect.corpus_stats import MEASURED_DECIMALS, SUBSET_SIZES

    shipped = read.root.resolve() == _default_root()
    where = "the shipped simulated cohort (detect/data/simulated)" if shipped else str(read.root)
    return (
        f"Measured by `cookiebench corpus stats` on {where} ({read.layout} layout, {transcripts} transcripts; "
        f"{len(read.skipped)} file(s) skipped, {read.excluded_utterances} [+ exc] utterance(s) left out): markers "
        f"from detect/markers.py, distinct-2 and self-similarity from detect/diversity.py over random subsets of "
        f"{' and '.join(map(str, SUBSET_SIZES))} transcripts per class; figures given to {MEASURED_DECIMALS} "
        "decimals."
    )


def print_read_summary(read: ReadReport) -> None:
    """One line: what the read left out (each item was logged as it happened; --report keeps them)."""
    parts = [
        f"{n} {what}"
        for n, what in (
            (len(read.skipped), "file(s) skipped"),
            (len(read.left_out), "transcript(s) without participant speech left out"),
            (len(read.visits), "speaker(s) whose diagnosis changed between visits"),
            (read.excluded_utterances, "utterance(s) marked [+ exc] left out"),
            (len(read.notes), "file(s) with notes"),
        )
        if n
    ]
    if parts:
        console.print("read: " + "; ".join(parts), markup=False, highlight=False)


def _default_root() -> Path:
    from detect.readers import default_corpus_path

    return default_corpus_path().resolve()
