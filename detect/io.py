"""JSONL and whole-file writes that survive a crash: the one reader and the two writers.

- :func:`read_jsonl` parses every line of a JSONL file (ours, or a corpus someone exported);
  a bad line is a :class:`~detect.errors.CorpusError` naming the file and line, raised, or
  handed to ``on_error`` and passed over. With ``torn_tail_ok``, a last line without its
  newline (a write cut short) is dropped with a warning instead.
- :class:`JsonlAppender` appends one line per ``os.write`` on an ``O_APPEND`` descriptor
  (then fsync), so concurrent writers never interleave and a crash tears at most the last
  line, which :func:`repair` truncates before the next append.
- :func:`write_atomic` replaces a whole file (temp file in the same folder, fsync, rename),
  so readers see the old file or the new one, never half of it.

Record types (synthetic descriptions, preference pairs) live with their packages; this
module only moves lines.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ValidationError

from detect.errors import CorpusError

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


def read_jsonl(
    path: str | Path,
    *,
    fix: str,
    missing_ok: bool = False,
    torn_tail_ok: bool = False,
    on_error: Callable[[CorpusError], None] | None = None,
) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` for each non-blank line of ``path`` (a leading UTF-8 BOM is skipped).

    ``fix`` says what to do about a bad file (it ends every error message). A missing file
    yields nothing with ``missing_ok``, else it is an error. A line that is not JSON raises,
    or, given ``on_error``, is handed to it and reading goes on.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return
        raise CorpusError(path, "file not found", fix=fix) from None
    except OSError as error:
        raise CorpusError(path, f"cannot read the file: {error.strerror or error}", fix=fix) from None
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")  # the BOM some editors write
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            if torn_tail_ok and number == len(lines):  # no newline after it: the write was cut short
                logger.warning("%s:%d: dropping a torn last line (interrupted write)", path, number)
                continue
            reason = f"{error.msg}, column {error.colno}" if isinstance(error, json.JSONDecodeError) else "not UTF-8"
            bad = CorpusError(path, f"not valid JSON ({reason})", line=number, fix=fix)
            if on_error is None:
                raise bad from None
            on_error(bad)


def read_models(
    path: str | Path, model: type[Model], *, what: str, fix: str, missing_ok: bool = False, torn_tail_ok: bool = False
) -> list[Model]:
    """Every line of ``path`` validated as ``model``; a bad one names the line and the first bad field."""
    out = []
    for number, data in read_jsonl(path, fix=fix, missing_ok=missing_ok, torn_tail_ok=torn_tail_ok):
        try:
            out.append(model.model_validate(data))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "record"
            raise CorpusError(path, f"bad {what}: {where}: {first['msg']}", line=number, fix=fix) from None
    return out


def repair(path: str | Path) -> int:
    """Truncate a torn last line so appends start on a fresh line; returns the bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as handle:
        handle.truncate(keep)
    logger.warning("%s: removed %d bytes of a torn last line", path, len(data) - keep)
    return len(data) - keep


class JsonlAppender:
    """Append-only JSONL: one ``os.write`` (and fsync) per line, so lines never interleave."""

    def __init__(self, path: str | Path, *, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync = fsync

    def write_line(self, text: str) -> None:
        """Appends ``text`` (one JSON document, no newline) as a line."""
        line = (text + "\n").encode()
        written = os.write(self._fd, line)
        assert written == len(line), f"short write to {self.path}: {written}/{len(line)} bytes"
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_atomic(path: str | Path, text: str | Iterable[str]) -> Path:
    """Replaces ``path`` with ``text`` (a string, or strings written in turn) in one rename;
    a crash, or an error while ``text`` is produced, leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_jsonl(path: str | Path, lines: Iterable[str]) -> Path:
    """A whole JSONL file, atomically: ``lines`` are JSON documents without their newline."""
    return write_atomic(path, (line + "\n" for line in lines))
