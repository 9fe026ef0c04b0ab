"""What a bench result says about the machine it ran on: the CPUs and how loaded they were."""

from __future__ import annotations

import os
from typing import Any


def machine_load() -> dict[str, Any]:
    """The CPU count and the 1-minute load average, read when a run ends: a noisy neighbour shows."""
    return {"cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def wall_time_footer(result: dict[str, Any]) -> list[str]:
    """The markdown lines closing a bench table: each timed step's seconds and the machine's load."""
    return [
        "",
        "Wall time (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in result["seconds"].items())
        + f"; {result['cpu_count']} CPUs, load {result['load_avg_1m']} at the end.",
        "",
    ]
