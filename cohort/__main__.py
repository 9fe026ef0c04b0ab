"""``python -m cohort [--seed N] [--out DIR]``: write the simulated cohort (simulated, not clinical data)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from cohort.layout import DEFAULT_OUT, DEFAULT_SEED, write_cohort

app = typer.Typer(add_completion=False)


@app.command()
def main(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = DEFAULT_SEED,
    out: Annotated[
        Path, typer.Option(help="Output folder (default: detect/data/simulated, the shipped cohort).")
    ] = DEFAULT_OUT,
) -> None:
    """Write the simulated ADReSS-style cohort (simulated, not clinical data)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    speakers = write_cohort(out, seed)
    typer.echo(f"wrote {len(speakers)} speakers to {out}")


if __name__ == "__main__":
    app(prog_name="python -m cohort")
