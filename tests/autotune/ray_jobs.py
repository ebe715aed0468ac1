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
    Path(directory, f"{os.getpid()}-{time.monotonic_ns()}").write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def kill_own_worker() -> None:
    """Die as a crashed compiler does, taking the worker process with it."""
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_then_return(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value
