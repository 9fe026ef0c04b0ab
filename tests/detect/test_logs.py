"""The command line's logging: cookiebench on the console, libraries and trainer steps in the run's log file."""

from __future__ import annotations

import io
import logging
import warnings

import mlflow  # noqa: F401 - on import it takes its logger off ours, as in every real run
import pytest

from detect.logs import FILE_ONLY, log_file, setup_console


@pytest.fixture()
def console():
    from transformers.utils import logging as hf_logging

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), hf_logging.get_verbosity())
    # transformers' own default (warnings on): an earlier import (vLLM's) may have lowered it
    hf_logging.set_verbosity_warning()
    stream = io.StringIO()
    yield stream
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    hf_logging.set_verbosity(saved[2])
    logging.captureWarnings(False)


def emit_one_of_each() -> None:
    logging.getLogger("eval.benchmark").info("ours: info")
    logging.getLogger("augment.stages").info("ours: step dict", extra=FILE_ONLY)
    logging.getLogger("mlflow.store").info("theirs: info")
    logging.getLogger("trl.trainer").error("theirs: error")
    from transformers.utils import logging as hf_logging

    hf_logging.get_logger("transformers.trainer").warning("theirs: transformers warning")
    warnings.warn("theirs: a python warning", UserWarning, stacklevel=1)


def test_console_shows_ours_and_errors_the_log_file_everything(console, tmp_path):
    setup_console(logging.StreamHandler(console))
    with log_file(tmp_path / "logs" / "run.log") as path:
        emit_one_of_each()
    shown, kept = console.getvalue(), path.read_text()
    assert "ours: info" in shown and "theirs: error" in shown
    for quiet in ("step dict", "theirs: info", "transformers warning", "python warning"):
        assert quiet not in shown, quiet
    for line in ("ours: info", "ours: step dict", "theirs: info", "theirs: error", "transformers warning",
                 "python warning"):
        assert line in kept, line


def test_verbose_shows_everything_on_the_console_too(console, tmp_path):
    setup_console(logging.StreamHandler(console), verbose=True)
    setup_console(logging.StreamHandler(console), verbose=True)  # a second call replaces, never doubles
    with log_file(tmp_path / "run.log"):
        emit_one_of_each()
    shown = console.getvalue()
    assert shown.count("ours: info") == 1
    assert "ours: step dict" in shown and "theirs: info" in shown and "transformers warning" in shown
