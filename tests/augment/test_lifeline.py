"""Children launched through augment.lifeline die with their parent, grandchildren included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .processes import living

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_launched_family_dies_when_its_parent_is_killed(tmp_path):
    pidfile = tmp_path / "pids"
    # the parent: launches tests.augment.family (which starts two grandchildren) and waits, as a CLI would
    code = (
        "import os, sys, time; from augment import lifeline; "
        "lifeline.launch('tests.augment.family', [sys.argv[1]], env=os.environ); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(pidfile)], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not (pidfile.exists() and pidfile.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.1)
        family = [int(pid) for pid in pidfile.read_text().split()]
        assert len(living(family)) == 3
        os.kill(parent.pid, signal.SIGKILL)  # as the OOM killer would: no finally block runs
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while living(family) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = living(family)
    finally:
        if parent.poll() is None:
            parent.kill()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "orphans survived their parent"


@pytest.mark.slow
def test_stop_ends_the_child_and_its_children(tmp_path):
    from augment import lifeline

    pidfile = tmp_path / "pids"
    proc = lifeline.launch("tests.augment.family", [str(pidfile)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not (pidfile.exists() and pidfile.read_text().endswith("\n")) and time.monotonic() < deadline:
        time.sleep(0.1)
    family = [int(pid) for pid in pidfile.read_text().split()]
    lifeline.stop(proc, grace_s=5)
    assert proc.poll() is not None
    assert living(family) == []
