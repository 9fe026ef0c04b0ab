"""`cookiebench benchmark --config demo`: the main job."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from detect.cli_options import resume_command
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, with_flags
from detect.logs import STDERR, Progress, log_file

# Results (the summary table): wide enough for it when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 150)


def benchmark(
    ctx: typer.Context,
    config: Annotated[str, typer.Option(help="A shipped profile (demo, full, tiny) or a YAML file.")] = "demo",
    corpus: Annotated[Path | None, typer.Option(help="Override the config's corpus.")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Override where runs/<name>/ state goes.")] = None,
    executor: Annotated[
        str | None, typer.Option(help="local (one process) or ray (Ray tasks); overrides the config's executor.kind.")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster for --executor ray: auto, ray://host:10001; default: start a local cluster."),
    ] = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Run (or resume) the benchmark: augmentation conditions x ratios x classifiers, paired against none.

    A flag given overrides the config's value, whatever its value (``--visits all`` over ``visits: first``).
    """
    from eval.analysis import format_table, interval_note, mde_lines
    from eval.benchmark import run_benchmark
    from eval.config import load_config

    settings = load_config(
        config, corpus=corpus, output_dir=output_dir, executor={"kind": executor, "address": address}
    )
    settings = dataclasses.replace(settings, reading=with_flags(settings.reading, skip_bad, report, visits))
    log_path = Path(settings.run_dir()) / "logs" / f"benchmark-{time.strftime('%Y%m%d-%H%M%S')}.log"
    STDERR.print(
        f"[bold]benchmark {settings.name}[/bold]: {settings.protocol.describe()}; "
        f"conditions {', '.join(settings.conditions)}; ratios {', '.join(f'{r:g}' for r in settings.ratios)}"
        + (f" (controls {', '.join(f'{r:g}' for r in settings.control_ratios)})" if settings.control_ratios else "")
        + "; "
        f"classifiers {', '.join(settings.classifiers)}; state in {settings.run_dir()}"
    )
    STDERR.print(f"log (transformers, TRL, vLLM, MLflow, training steps): {log_path}")
    with (
        log_file(log_path),
        Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bars,
    ):
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        try:
            result = run_benchmark(settings, progress=progress)
        except KeyboardInterrupt:
            STDERR.print(
                f"[yellow]interrupted; finished work is kept in {settings.run_dir()}. Resume with:[/yellow] "
                f"{resume_command(ctx)}"
            )
            raise typer.Exit(code=130) from None

    for line in mde_lines(result.table):  # what this run could have seen, before what it saw
        console.print(line, markup=False)
    shown = format_table(result.table)
    table = Table(title=f"{settings.name}: F1 (AD positive) against no augmentation, paired over folds x seeds")
    for column in shown.columns:
        table.add_column(column, justify="left" if column in ("classifier", "condition") else "right")
    for row in shown.itertuples(index=False):
        table.add_row(*map(str, row))
    console.print(table)
    console.print(interval_note(result.table), markup=False)
    console.print("wall time by stage: " + ", ".join(f"{k} {v:.0f}s" for k, v in result.timings.items()))
    console.print(f"report: {result.report}")
    console.print(f"log: {log_path}")
    from detect.tracking import run_url

    if result.run_id is not None:
        url = run_url(result.run_id)
        local = url.startswith("http://127.0.0.1:5000/")
        console.print(
            f"MLflow run of this benchmark (its verdict, forest plots, samples, export): {url}"
            + ("  (start the UI with `make ui`)" if local else "")
        )
