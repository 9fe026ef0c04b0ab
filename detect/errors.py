"""Errors about user input. Each renders as one line: where, what is wrong, what to do."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Base of every error caused by the user's input or setup, in any package.

    The CLI prints ``str(error)`` as one line and exits 1; it never shows a traceback for these.
    """


class ConfigError(UserError):
    """A configuration (a YAML profile, a config file, a ``--set`` value) that cannot be used as written."""


class CorpusError(UserError):
    """Bad input data: a transcript, a metadata file, a CSV/JSONL row.

    """

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None, fix: str = ""):
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.fix = fix
        where = f"{self.path}:{line}" if line is not None else self.path
        message = f"{where}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)
