"""`cookiebench corpus ...`: read a corpus and take a first look at it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from detect.readers import ReadReport, load_corpus

corpus_app = typer.Typer(help="Read transcripts and look at them.", no_args_is_help=True)
console = Console()

PathArg = Annotated[
    Path | None,
    typer.Argument(help="Corpus folder (ADReSS, Pitt, .cha files) or a .csv/.jsonl file. Default: the simulated cohort."),
]
SkipBad = Annotated[bool, typer.Option("--skip-bad", help="Leave out bad files (listed) instead of stopping.")]
ReportOpt = Annotated[Path | None, typer.Option(help="With --skip-bad: write the skipped files and reasons here.")]


@corpus_app.command()
def inspect(
    path: PathArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    skip_bad: SkipBad = False,
    report: ReportOpt = None,
) -> None:
    """A newcomer's first look: layout, speakers and transcripts per class and split, marker means by class."""
    read = ReadReport(layout="?", root=Path("."))
    corpus = load_corpus(path, skip_bad=skip_bad, report=read)
    from detect.markers import marker_means_by_label  # spaCy loads only once the corpus is known good

    means = marker_means_by_label(corpus)
    if report is not None:
        read.write(report)

    if as_json:
        payload = {
            "path": str(read.root),
            "layout": read.layout,
            "transcripts": len(corpus),
            "speakers": len(corpus.speakers()),
            "counts": corpus.counts(),
            "skipped": [str(e) for e in read.skipped],
            "marker_means": {str(label): row.dropna().to_dict() for label, row in means.iterrows()},
            "digest": corpus.digest(),
        }
        typer.echo(json.dumps(payload, indent=2))
        return

    console.print(f"[bold]{read.root}[/bold]: {read.layout} layout, {len(corpus)} transcripts, "
                  f"{len(corpus.speakers())} speakers, digest {corpus.digest()}")
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
    if read.skipped:
        console.print(f"[red]{len(read.skipped)} file(s) skipped:[/red]")
        for error in read.skipped:
            console.print(f"  {error}", markup=False, highlight=False)


def _default_root() -> Path:
    from detect.readers import default_corpus_path

    return default_corpus_path().resolve()
