"""The `cookiebench` command: each package contributes its command group.

cookiebench corpus inspect [PATH]
cookiebench detect cv|train|predict ...
cookiebench models prepare
cookiebench augment pairs|train|generate ...
cookiebench serve --adapters DIR
cookiebench benchmark --config CONFIG
"""

from __future__ import annotations

import os

import typer
from rich.logging import RichHandler
from typer.core import TyperGroup

from augment.cli import augment_app, models_app
from augment.cli_generate import serve
from detect.cli_options import ConfigDefaults
from detect.corpus_cli import corpus_app
from detect.detect_cli import detect_app
from detect.errors import UserError
from detect.logs import STDERR, setup_console
from eval.benchmark_cli import benchmark


class _OneLineErrors(TyperGroup):
    """Bad input ends in one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from None


app = typer.Typer(
    name="cookiebench",
    cls=_OneLineErrors,
    help="Evaluate and augment AD detection from Cookie Theft descriptions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(corpus_app, name="corpus")
app.add_typer(detect_app, name="detect")
app.add_typer(models_app, name="models")
app.add_typer(augment_app, name="augment")
app.command("serve", cls=ConfigDefaults)(serve)
app.command("benchmark", cls=ConfigDefaults)(benchmark)


@app.callback()
def main(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Debug logging; third-party logs and progress bars on the console too."
    ),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads (default: torch's choice)."),
) -> None:
    """Evaluate and augment AD detection from Cookie Theft descriptions.

    Numbers on the shipped simulated cohort are not clinical results.
    """
    # Logs go to stderr beside the progress display (stdout holds results only); libraries log to
    # the run's log file.
    setup_console(RichHandler(console=STDERR, show_path=False, rich_tracebacks=False), verbose=verbose)
    # Process settings belong to the program, not to the libraries: set once, here.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline by design: nothing is fetched from a model hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")  # MLflow's git probe
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if not verbose:  # library progress bars (tqdm: datasets, markers, vLLM) would cut through ours
        os.environ.setdefault("TQDM_DISABLE", "1")
    if threads:
        import torch

        torch.set_num_threads(threads)


if __name__ == "__main__":  # python -m eval.cli, as the `cookiebench` script
    app(prog_name="cookiebench")
