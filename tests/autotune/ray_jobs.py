"""Compile jobs for the Ray backend's tests; they run in Ray worker processes.

Standard library only (plus kcompiler for the real sm_90 launches built in the test process).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def note_pid_then_sleep(directory: str, seconds: float) -> int:
    """Write this worker's pid to a new file in ``directory``, sleep, return the pid: the
    test learns which worker holds the job while it runs."""
    # Written under a hidden name, then renamed: a reader polling the directory never sees
    # the file before its pid is in it.
    name = f"{os.getpid()}-{time.monotonic_ns()}"
    hidden = Path(directory, f".{name}")
    hidden.write_text(str(os.getpid()))
    hidden.rename(Path(directory, name))
    time.sleep(seconds)
    return os.getpid()


def kill_own_worker() -> None:
    """Die as a crashed compiler does, taking the worker process with it."""
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_then_return(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value
