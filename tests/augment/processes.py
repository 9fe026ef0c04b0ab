"""Test helper: which of some processes are still alive (zombies count as gone)."""

from __future__ import annotations

import psutil


def living(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive
