"""Run the lit/FileCheck suite (tests/filecheck) as one pytest test; lit's report on failure."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "filecheck")


def _lit_command() -> list[str] | None:
    if importlib.util.find_spec("lit") is not None:  # lit has no __main__: call its entry point
        return [sys.executable, "-c", "from lit.main import main; main()"]
    lit = shutil.which("lit")
    return [lit] if lit else None


def _missing(what: str) -> None:
    """A missing tool skips a local run but fails CI (``$CI`` set), where a skipped FileCheck
    suite would let every emitted-code regression through."""
    message = f"{what} is not installed (pip install {what}; it comes with '.[test]')"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the FileCheck suite")
    pytest.skip(message)


def test_filecheck_suite() -> None:
    lit = _lit_command()
    if lit is None:
        _missing("lit")
    if shutil.which("filecheck") is None and importlib.util.find_spec("filecheck") is None:
        _missing("filecheck")
    proc = subprocess.run(
        [*lit, "-v", SUITE], capture_output=True, text=True, timeout=600, check=False
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"lit failed (exit code {proc.returncode}):\n{report}"
    assert "Passed:" in report, f"lit ran no test:\n{report}"
