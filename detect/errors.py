"""Errors about user input. Each renders as one line: where, what is wrong, what to do."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class UserError(Exception):
    """Base of every error caused by the user's input or setup, in any package.

    The CLI prints ``str(error)`` as one line and exits 1; it never shows a traceback for these.
    """


class ConfigError(UserError):
    """A configuration (a YAML profile, a config file, a ``--set`` value) that cannot be used as written."""


class CorpusError(UserError):
    """Bad input data: a transcript, a metadata file, a CSV/JSONL row."""

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


class NoSpeechError(CorpusError):
    """A well-formed transcript in which the speaker read says nothing: no bad input, nothing to read.

    The readers leave such transcripts out (and list them) rather than stop a strict read.
    """


def one_line(error: Exception, prefix: tuple[str, ...] = ()) -> str:
    """An error as one line; for a pydantic ``ValidationError``: ``dotted.key: problem`` of the first problem."""
    if not isinstance(error, ValidationError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    first = error.errors()[0]
    key = ".".join(str(part) for part in (*prefix, *first["loc"])) or "(top level)"
    if first["type"] == "extra_forbidden":
        problem = "unknown key"
    elif first["type"] == "value_error":  # a validator's own message says it all
        problem = str(first["ctx"]["error"])
    else:
        problem = f"{first['msg']} (got {first.get('input')!r})"
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{key}: {problem}{more}"
