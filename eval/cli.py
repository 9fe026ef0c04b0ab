"""The `cookiebench` command: each package contributes its command group.

    cookiebench corpus inspect [PATH]
    cookiebench detect cv|train|predict ...
    cookiebench models prepare
    cookiebench augment pairs|train|generate ...
    cookiebench serve --adapters DIR
    cookiebench benchmark --config CONFIG
"""

from __future__ import annotations

import logging
import os

import typer
from rich.logging import RichHandler
from typer.core import TyperGroup

from augment.cli import augment_app, models_app, serve
from detect.corpus_cli import corpus_app
from detect.detect_cli import detect_app
from detect.errors import UserError
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
app.command("serve")(serve)
app.command("benchmark")(benchmark)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """Evaluate and augment AD detection from Cookie Theft descriptions.

    Numbers on the shipped simulated cohort are not clinical results.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
    )
    for noisy in ("httpx", "httpx2", "httpcore", "openai"):  # one line per request drowns the progress bars
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Offline by design: nothing is ever fetched from a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


if __name__ == "__main__":  # python -m eval.cli, as the `cookiebench` script
    app(prog_name="cookiebench")
