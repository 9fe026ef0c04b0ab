"""``cookiebench augment export``: kept synthetic records as a corpus to take elsewhere.

cookiebench augment export synth-ad.filtered.jsonl synth-hc.filtered.jsonl --format chat --out synth-corpus/
cookiebench corpus inspect synth-corpus/          # reads back like any ADReSS folder
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from detect.cli_options import Default, given
from detect.errors import CorpusError
from detect.logs import STDERR


class FormatChoice(str, Enum):
    chat = "chat"
    csv = "csv"
    jsonl = "jsonl"


def export(
    ctx: typer.Context,
    synthetic: Annotated[
        list[Path],
        typer.Argument(
            help="Filtered synthetic JSONL file(s) (`augment filter`): the "
            "records that pass the filters, privacy included, are "
            "exported."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Folder to write: the ADReSS layout (train/...) for chat, "
            "synthetic.csv or synthetic.jsonl for the others."
        ),
    ],
    fmt: Annotated[
        FormatChoice | None,
        typer.Option(
            "--format",
            help="chat (CHAT .cha files in the ADReSS layout, marked synthetic), csv or jsonl (the project's columns).",
        ),
        Default(
            "augment.export:export_transcripts.formats",
            parse=lambda choice: (choice.value,),
            show=lambda formats: ", ".join(formats),
        ),
    ] = None,
) -> None:
    """Export the synthetic records that pass the filters (privacy included) in the corpus's own formats."""
    from augment.export import export_transcripts, kept_transcripts
    from augment.synthetic import read_records

    transcripts = []
    for path in synthetic:
        if not path.is_file():
            raise CorpusError(
                path, "no such synthetic JSONL file", fix="give a file `augment generate` or `augment filter` wrote"
            )
        kept = kept_transcripts(read_records(path))
        if not kept:
            raise CorpusError(
                path,
                "no record passes the filters, privacy included (or the file was never filtered)",
                fix="filter it with `cookiebench augment filter` first",
            )
        transcripts += kept
    for written in export_transcripts(transcripts, out, **given(ctx, export_transcripts)):
        typer.echo(str(written))
    STDERR.print(f"{len(transcripts)} synthetic transcripts exported to {out}")
