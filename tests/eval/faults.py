"""Fault injection for the Ray executor tests: a machine that goes away in the middle of a cell.

Workers import this module (it lies on the driver's working directory, which Ray puts on its
workers' path); it imports nothing of the benchmark but the executor it extends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eval.executors import RayExecutor


def _die_once(marker: str, fn, *args: Any) -> Any:
    """Runs the unit; the first task to find the marker file removes it and kills its own worker
    before returning, so Ray must run the unit again."""
    value = fn(*args)
    try:
        os.unlink(marker)  # only one worker can remove it: the fault fires once
    except FileNotFoundError:
        return value
    os._exit(1)


class KillOneCell(RayExecutor):
    """The Ray executor, with its first cell task to finish while ``marker`` exists killing its worker."""

    def __init__(self, *args: Any, marker: Path, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.marker = str(marker)

    def submit(self, fn, *args: Any, kind: str, **options: Any) -> Any:
        if kind == "cell":
            return super().submit(_die_once, self.marker, fn, *args, kind=kind, **options)
        return super().submit(fn, *args, kind=kind, **options)
