"""Test helper for :mod:`augment.lifeline`: ``python -m tests.augment.family PIDFILE``.

Starts two grandchildren that sleep, one in its process group and one that left it
(``setsid``, as a daemonising child would), writes its own pid and theirs to PIDFILE,
then sleeps: a stand-in for a vLLM server and its engine processes.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
in_group = subprocess.Popen(sleep)
left_group = subprocess.Popen(sleep, start_new_session=True)
Path(sys.argv[1]).write_text(f"{os.getpid()} {in_group.pid} {left_group.pid}\n")
time.sleep(600)
