"""Child processes that die with their parent, their own children included.

A vLLM server is three processes (API server -> engine core -> worker). When the process
that started it is killed with SIGKILL (the OOM killer, a CI timeout), nothing runs our
``finally`` blocks, and the family used to live on as orphans holding the port and
~800 MB. So every vLLM process this project starts goes through :func:`launch`, which
runs the target module under this file, in a session of its own::

    python -m augment.lifeline <parent pid> <module> [args...]

A daemon thread here watches the parent; the moment it is gone, it SIGKILLs every
descendant and then the whole process group, itself last (how fast: bench-results/README.md,
B22). ``PR_SET_PDEATHSIG`` on the server alone would not do: the kernel clears it in forked
children, and when the API server alone was SIGKILLed, its engine core and worker kept running.

:func:`stop` is the orderly way down, used by the context managers: SIGINT, then SIGTERM,
then SIGKILL to the group, and any descendant that left the group.
"""

from __future__ import annotations

import logging
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

logger = logging.getLogger(__name__)

POLL_S = 0.2  # how soon after the parent's death the family goes


def launch(
    module: str,
    args: list[str],
    *,
    env: Mapping[str, str],
    stdout: IO | int | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen:
    """``python -m module args`` as a child that dies with this process (in a new session)."""
    cmd = [sys.executable, "-m", "augment.lifeline", str(os.getpid()), module, *args]
    return subprocess.Popen(
        cmd,
        env=dict(env),
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout else None,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=pass_fds,
    )


def descendants(pid: int) -> list[Any]:
    """``psutil.Process`` objects of every descendant of ``pid`` (empty if it is gone)."""
    import psutil  # a dependency of vllm, which is all this module starts

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def group(pgid: int) -> list[Any]:
    """The live processes of process group ``pgid`` (those of a crashed leader too)."""
    import psutil

    members = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                members.append(p)
        except (psutil.Error, OSError):  # gone meanwhile
            pass
    return members


def stop(proc: subprocess.Popen, *, grace_s: float = 20.0) -> None:
    """Stops ``proc`` (started by :func:`launch`) and every process it spawned; idempotent.

    Returns once they are all gone, so their port and memory are free.
    """
    import psutil

    # Descendants first: one that called setsid would escape the group signal. The group
    # too: after a crash of the leader, its children are no longer its descendants.
    family = list({p.pid: p for p in descendants(proc.pid) + group(proc.pid)}.values())
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            logger.warning("process %d did not stop on %s; escalating", proc.pid, sig.name)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
    for child in family:
        try:
            child.kill()
        except psutil.Error:  # already gone
            pass
    # A dead leader leaves the group id behind; reap whatever still carries it.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    psutil.wait_procs(family + group(proc.pid), timeout=10)


def _kill_family() -> None:
    import psutil

    for child in descendants(os.getpid()):
        try:
            child.kill()
        except psutil.Error:
            pass
    os.killpg(os.getpgrp(), signal.SIGKILL)  # this process is the group leader: it goes too


def _watch(parent: int) -> None:
    while os.getppid() == parent:  # re-parented (to init or a subreaper) once the parent is gone
        time.sleep(POLL_S)
    _kill_family()


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m augment.lifeline PARENT_PID MODULE [ARGS...]")
    parent, module = int(argv[0]), argv[1]
    threading.Thread(target=_watch, args=(parent,), name="lifeline", daemon=True).start()
    sys.argv = [module, *argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
