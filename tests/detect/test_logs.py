"""The command line's logging: cookiebench on the console, libraries and trainer steps in the run's log file.

Each case runs in a fresh interpreter, as a command does: logging is process-wide state, and
what earlier tests imported (vLLM, TRL) or configured would otherwise decide the outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CASE = """
import io, json, logging, sys, warnings
import mlflow  # on import it gives its logger a handler of its own, as in every real run
from transformers.utils import logging as hf_logging
from detect.logs import FILE_ONLY, log_file, setup_console

verbose, path = sys.argv[1] == "1", sys.argv[2]
console = io.StringIO()
setup_console(logging.StreamHandler(console), verbose=verbose)
setup_console(logging.StreamHandler(console), verbose=verbose)  # a second call replaces, never doubles
with log_file(path):
    logging.getLogger("eval.benchmark").info("ours: info")
    logging.getLogger("augment.stages").info("ours: step dict", extra=FILE_ONLY)
    logging.getLogger("mlflow.store").info("theirs: info")
    logging.getLogger("trl.trainer").error("theirs: error")
    hf_logging.get_logger("transformers.trainer").warning("theirs: transformers warning")
    warnings.warn("theirs: a python warning", UserWarning, stacklevel=1)
print(json.dumps(console.getvalue()))
"""


def run_case(verbose: bool, path) -> tuple[str, str]:
    """(what the console showed, what the log file kept)."""
    done = subprocess.run(
        [sys.executable, "-c", CASE, "1" if verbose else "0", str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), path.read_text()


@pytest.mark.slow
def test_console_shows_ours_and_errors_the_log_file_everything(tmp_path):
    shown, kept = run_case(False, tmp_path / "logs" / "run.log")
    assert shown.count("ours: info") == 1 and "theirs: error" in shown
    for quiet in ("step dict", "theirs: info", "transformers warning", "python warning"):
        assert quiet not in shown, quiet
    for line in (
        "ours: info",
        "ours: step dict",
        "theirs: info",
        "theirs: error",
        "transformers warning",
        "python warning",
    ):
        assert line in kept, line


@pytest.mark.slow
def test_verbose_shows_everything_on_the_console_too(tmp_path):
    shown, _ = run_case(True, tmp_path / "run.log")
    assert shown.count("ours: info") == 1
    for line in ("ours: step dict", "theirs: info", "transformers warning", "python warning"):
        assert line in shown, line


def test_progress_off_a_terminal_writes_a_few_plain_lines_not_a_bar(monkeypatch):
    """In a pipe or a log file: one line when a task starts and one when it completes, no carriage returns."""
    import io

    from rich.console import Console

    from detect import logs

    monkeypatch.setattr(logs, "PLAIN_EVERY_S", 3600.0)  # no line for the time that passes
    out = io.StringIO()
    with logs.Progress(console=Console(file=out, force_terminal=False)) as progress:
        task = progress.add_task("markers", total=500)
        for _ in range(500):
            progress.advance(task)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 2, lines
    assert lines[0].startswith("markers: 1/500") and lines[1].startswith("markers: 500/500")


def test_marker_extraction_draws_no_progress_off_a_terminal(capfd):
    from detect.markers import MarkerExtractor

    MarkerExtractor(show_progress=True).text_features(["the boy is on the stool .", "the water is overflowing ."])
    out, err = capfd.readouterr()
    assert out == "" and "markers" not in err and "\r" not in err
