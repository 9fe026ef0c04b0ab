"""Logging and progress for the command line: cookiebench on stderr, everything else in a log file.

Standard output holds a command's results only (``--json``, ``--out -``, tables), so that
``cookiebench corpus inspect --json | jq .`` works; logs, progress and status go to
:data:`STDERR`, the one console they share. It shows cookiebench's own INFO lines and one
:class:`Progress` display; what third-party libraries log (transformers, TRL, datasets,
vLLM, MLflow, Python warnings) and trainers' per-step logs go to a log file under the run
folder instead, and on the console too with ``--verbose``.

- :func:`setup_console` (the ``cookiebench`` callback) installs the console handler.
- :class:`Progress` is every command's progress display: live on a terminal; in a pipe, a log
  file or CI, a plain line now and then instead of hundreds of ``\r`` updates.
  :func:`track` wraps an iterable in it (marker extraction).
- :func:`log_file` (a command that owns a run folder) adds the file for the length of the
  run and routes the libraries that print on their own handlers (transformers, datasets)
  into it.
- ``logger.info(..., extra=FILE_ONLY)`` marks a line for the file only (per-step trainer logs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rich import progress as rich_progress
from rich.console import Console

OURS: tuple[str, ...] = ("detect", "augment", "eval", "bench", "__main__")
FILE_ONLY = {"console": False}
_QUIET = ("httpx", "httpcore", "openai")  # one line per HTTP request: noise even in a file

# Logs, progress and status of every command: one console, so that a live display and the log
# lines above it share it (rich nests a second display, marker extraction's, inside the first).
STDERR = Console(stderr=True)
PLAIN_EVERY_S = 30.0  # off a terminal: a task's line at most this often (and when it ends)
T = TypeVar("T")


class ConsoleFilter(logging.Filter):
    """Passes cookiebench's own records (unless marked :data:`FILE_ONLY`) and anyone's errors;
    everything with ``verbose``."""

    def __init__(self, verbose: bool = False):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose:
            return True
        if not getattr(record, "console", True):
            return False
        return record.name.split(".")[0] in OURS or record.levelno >= logging.ERROR


def setup_console(handler: logging.Handler, *, verbose: bool = False) -> None:
    """Make ``handler`` the console: INFO (DEBUG with ``verbose``) through :class:`ConsoleFilter`.

    Python warnings become log records (``py.warnings``), so they land in the log file too.
    Calling it again replaces the previous console handler.
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for old in [h for h in root.handlers if getattr(h, "_cookiebench_console", False)]:
        root.removeHandler(old)
    handler.addFilter(ConsoleFilter(verbose))
    handler._cookiebench_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.captureWarnings(True)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def log_file(path: str | Path) -> Iterator[Path]:
    """Every log record, ours and third-party, also goes to ``path`` while the block runs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    restore = _route_libraries()
    try:
        yield path
    finally:
        restore()
        root.removeHandler(handler)
        handler.close()


def _route_libraries() -> Callable[[], None]:
    """transformers, datasets and MLflow print through handlers of their own; send their
    records to ours (console filter, log file) instead. Returns what undoes it."""
    undo: list[Callable[[], None]] = []
    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    undo += [hf_logging.enable_default_handler, hf_logging.disable_propagation]
    try:
        import datasets.utils.logging  # noqa: F401 - configures the library's own handler, removed below
    except ImportError:  # pragma: no cover - a declared dependency
        pass
    try:
        import mlflow  # noqa: F401 - on import it gives its logger a stderr handler and stops propagation
    except ImportError:  # pragma: no cover - a declared dependency
        pass
    for name in ("datasets", "mlflow"):
        undo.append(_propagate_only(logging.getLogger(name)))

    def restore() -> None:
        for step in reversed(undo):
            step()

    return restore


def _propagate_only(library: logging.Logger) -> Callable[[], None]:
    """Take ``library``'s own handlers off and let its records reach ours; returns what undoes it."""
    own, propagate = list(library.handlers), library.propagate
    for handler in own:
        library.removeHandler(handler)
    library.propagate = True

    def undo() -> None:
        library.propagate = propagate
        for handler in own:
            library.addHandler(handler)

    return undo


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' per-call progress bars and notices for a block, then restore them."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


class Progress(rich_progress.Progress):
    """The progress display of every command, on :data:`STDERR`.

    Live on a terminal. Elsewhere (a pipe, a file, CI) rich would write nothing until the end;
    this writes a plain line per task instead (``description: 12/40 0:01:02 <fields>``) when
    its description changes, at most every :data:`PLAIN_EVERY_S` seconds, and when it completes.
    """

    def __init__(self, *columns: Any, **options: Any):
        options.setdefault("console", STDERR)
        super().__init__(*columns, **options)
        self.live_display = self.console.is_terminal
        self.disable = not self.live_display
        # per task: when it last said something, at which stage (description), and what
        self._plain: dict[rich_progress.TaskID, tuple[float, str, str]] = {}

    def update(self, task_id: rich_progress.TaskID, **changes: Any) -> None:
        super().update(task_id, **changes)
        self._plain_line(task_id)

    def advance(self, task_id: rich_progress.TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._plain_line(task_id)

    def _plain_line(self, task_id: rich_progress.TaskID) -> None:
        if self.live_display:
            return
        task = self._tasks[task_id]
        count = f" {task.completed:g}/{task.total:g}" if task.total is not None else ""
        said = f"{task.description}:{count}"
        last, stage, last_said = self._plain.get(task_id, (None, "", ""))
        now = time.monotonic()
        new_stage = stage != task.description
        if not (last is None or new_stage or now - last >= PLAIN_EVERY_S or (task.finished and said != last_said)):
            return
        self._plain[task_id] = (now, task.description, said)
        elapsed = time.strftime("%H:%M:%S", time.gmtime(task.elapsed or 0))
        extra = " ".join(str(v) for v in task.fields.values() if v)
        self.console.print(f"{said} {elapsed} {extra}".rstrip(), markup=False, highlight=False)


def track(items: Iterable[T], *, total: int, description: str) -> Iterator[T]:
    """``items``, with a transient bar on a terminal (nested in a command's display); nothing elsewhere."""
    if not STDERR.is_terminal:
        yield from items
        return
    columns = (
        rich_progress.TextColumn("{task.description}"),
        rich_progress.BarColumn(),
        rich_progress.MofNCompleteColumn(),
        rich_progress.TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def spinner() -> Progress:
    """The display of stages of unknown length: a spinner, the stage (its task's description), its time."""
    return Progress(
        rich_progress.SpinnerColumn(), rich_progress.TextColumn("{task.description}"), rich_progress.TimeElapsedColumn()
    )
