"""Compile jobs for fake targets; they run in worker processes.

Standard library only, so a test worker starts in milliseconds instead of importing torch.
"""

from __future__ import annotations

import json
import os
import time


def compile_ok(config_json: str, log_path: str | None = None) -> None:
    """Pretend to compile; with log_path, take 0.3 s and log the wall-clock interval."""
    start = time.time()
    if log_path:
        time.sleep(0.3)
        with open(log_path, "a") as f:
            f.write(json.dumps(["compile", start, time.time()]) + "\n")


def compile_hang(seconds: float) -> None:
    time.sleep(seconds)


def compile_raise(message: str) -> None:
    raise ValueError(message)


def compile_abort() -> None:
    os.abort()


def compile_noisy() -> None:
    """Writes a lot to stdout and stderr, as compilers do; must not disturb the protocol."""
    import sys

    print("x" * 200_000)
    sys.stderr.write("noise on stderr\n")


def compile_crash_with_message(marker: str) -> None:
    import sys

    sys.stderr.write(f"{marker}\n")
    sys.stderr.flush()
    os.abort()


def compile_report(config_json: str) -> dict:
    """Pretend to compile and return figures, as a target compile does (a spill per block of
    128 elements and more, so a review can reject some configs)."""
    block = json.loads(config_json)["block_sizes"][0]
    return {"spill_bytes": 512 if block >= 128 else 0}
