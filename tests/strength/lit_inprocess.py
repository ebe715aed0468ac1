"""The FileCheck tests of tests/filecheck, run in this process: the mutation runs' fast probe
of generated code and pass output (tests/strength/MUTATION.md).

lit runs each ``// RUN:`` line in a subprocess; mutmut only sees the functions a test calls in
its own process (it maps each mutated function to the tests that reach it, and runs those
tests against the mutant). This module runs the same lines with ``kc_opt.main`` and
FileCheck's matcher in-process, so every pass and emitter function a FileCheck test reaches
is tested by it, at a few milliseconds a line instead of a Python start.

Not collected by CI (the name does not match ``test_*.py``; tests/test_lit.py runs the same
lines through lit there); name the file to run it: ``pytest tests/strength/lit_inprocess.py``.

Supported RUN lines are pipelines of ``kc-opt ARGS`` stages (a stage without ``%s`` reads the
previous stage's output) ending in ``filecheck %s [OPTIONS]``, optionally prefixed by
``exit-code N`` (with ``2>&1`` merging kc-opt's diagnostics into what FileCheck reads). Other
lines (``diff``, ``%t`` files) are left to lit.
"""

from __future__ import annotations

import io
import shlex
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from filecheck.matcher import Matcher
from filecheck.options import parse_argv_options

from kcompiler.tools import kc_opt

SUITE = Path(__file__).resolve().parents[1] / "filecheck"
# The directories whose tests reach the passes and the Triton emitter.
DIRS = ("emit", "passes", "kc-opt")


def _run_lines(path: Path) -> list[str]:
    return [
        line.split("RUN:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.lstrip().startswith("// RUN:")
    ]


def _supported(line: str) -> bool:
    if "%t" in line or " diff " in f" {line} " or ">" in line.replace("2>&1", ""):
        return False
    stages = [s.strip() for s in line.split("|")]
    if not stages[-1].startswith("filecheck "):
        return False
    first = stages[0].removeprefix("exit-code 1 ").strip()
    return all(s.startswith("kc-opt") for s in [first, *stages[1:-1]])


def _cases() -> list[pytest.param]:
    cases = []
    for d in DIRS:
        for path in sorted((SUITE / d).glob("*.mlir")):
            for i, line in enumerate(_run_lines(path)):
                if _supported(line):
                    cases.append(pytest.param(path, line, id=f"{d}/{path.name}:{i}"))
    return cases


def _kc_opt(args: list[str], merge_stderr: bool) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(out if merge_stderr else err):
        rc = kc_opt.main(args)
    return rc, out.getvalue()


@pytest.mark.parametrize(("path", "line"), _cases())
def test_run_line(path: Path, line: str, tmp_path: Path) -> None:
    stages = [s.strip() for s in line.split("|")]
    expect_rc = 0
    first = stages[0]
    if first.startswith("exit-code "):
        _, code, first = first.split(" ", 2)
        expect_rc = int(code)
    text: str | None = None
    for i, stage in enumerate([first, *stages[1:-1]]):
        merge = "2>&1" in stage
        args = [a.replace("%s", str(path)) for a in shlex.split(stage.replace("2>&1", ""))[1:]]
        if text is not None:
            piped = tmp_path / f"stage{i}.mlir"
            piped.write_text(text)
            args.insert(0, str(piped))
        rc, text = _kc_opt(args, merge)
        if i == 0:
            assert rc == expect_rc, f"kc-opt exited {rc}, expected {expect_rc}:\n{text}"
    assert text is not None
    produced = tmp_path / "output.txt"
    produced.write_text(text)
    fc_args = [a.replace("%s", str(path)) for a in shlex.split(stages[-1])]
    report = io.StringIO()
    with redirect_stdout(report), redirect_stderr(report):
        matcher = Matcher.from_opts(parse_argv_options([*fc_args, "--input-file", str(produced)]))
        rc = matcher.run()
    assert rc == 0, f"FileCheck failed on {path.name}:\n{report.getvalue()}\n--- input ---\n{text}"
