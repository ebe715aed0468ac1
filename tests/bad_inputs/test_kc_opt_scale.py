"""kc-opt on inputs too large to commit, or that need a pass with a bug: built here, then run
like the FileCheck tests.

* one bad op among 24,000: the diagnostic names its line and stays a few hundred bytes (xDSL's
  verifier attaches the whole module, printed, to its exception: 3 MB here);
* deep nests of ``tile.for``: 200 and 2,000 levels parse, verify, run shape-inference and print
  (no RecursionError); past ``MAX_NESTING`` the parser reports the op that goes too deep;
* an exception no diagnostic accounts for (a pass with a bug) is an ``internal error`` at the
  op, exit code 70, no traceback unless ``--debug``;
* an op a pass created has no text location: it is reported at its nearest enclosing op from
  the file, with the op itself printed in a note.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr, f32
from xdsl.passes import ModulePass

from kcompiler.dialects import tile as t
from kcompiler.dialects.diagnostics import MAX_NESTING
from kcompiler.passes import pipeline
from kcompiler.tools import kc_opt

BLOCK = "!tile.block<[], i64>"
HEAD = [
    "builtin.module {",
    "tile.kernel @k(%x: !tile.tensor<[s0], f32>) {",
    f'%v0 = tile.size "s0" : {BLOCK}',
]


def chain(n: int, bad: int | None = None) -> tuple[str, int]:
    """A kernel of ``n`` ops; the op after the ``bad``-th has a wrong result type. Returns the
    text and the bad op's line (1-based)."""
    lines = list(HEAD)
    bad_line = 0
    for i in range(1, n):
        lines.append(f'%v{i} = tile.binary "add" %v{i - 1}, %v0 : {BLOCK}, {BLOCK} -> {BLOCK}')
        if i == bad:
            lines.append(
                f'%bad = tile.binary "mul" %v{i}, %v0 : {BLOCK}, {BLOCK} -> !tile.block<[], f32>'
            )
            bad_line = len(lines)
    return "\n".join([*lines, "}", "}", ""]), bad_line


def nest(levels: int) -> str:
    """``levels`` sequential tile.for loops, one inside the other (not indented: the text
    grows linearly)."""
    loops = [f"tile.for %t{i} = %v0 to %v0 block block_{i} kind tile {{" for i in range(levels)]
    return "\n".join([*HEAD, *loops, *["}"] * levels, "}", "}", ""])


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str
) -> tuple[int, str, str]:
    path = tmp_path / "input.mlir"
    path.write_text(text)
    rc = kc_opt.main([str(path), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_one_bad_op_among_24k_is_reported_by_line_in_a_short_message(tmp_path, capsys):
    text, line = chain(24_000, bad=12_345)
    assert len(text) > 2_000_000
    rc, out, err = run(tmp_path, capsys, text)
    assert rc == 1, err
    assert len(err) < 1000, err[:2000]
    assert f"input.mlir:{line}:1: error: 'tile.binary' op result type !tile.block<[], f32>" in err
    assert '%bad = tile.binary "mul"' in err
    assert "Traceback" not in err and "builtin.module" not in err and "%v12344 =" not in err


@pytest.mark.parametrize("levels", [200, 2000])
def test_deep_nests_parse_verify_infer_and_print(tmp_path, capsys, levels):
    limit = sys.getrecursionlimit()
    stack = threading.stack_size()
    rc, out, err = run(tmp_path, capsys, nest(levels), "-p", "shape-inference")
    assert rc == 0, err[-2000:]
    assert err == ""
    assert out.count("tile.for") == levels
    # main() restores what it raised for its worker thread.
    assert sys.getrecursionlimit() == limit and threading.stack_size() == stack


def test_a_nest_past_the_limit_is_a_located_error(tmp_path, capsys):
    # The module and the kernel are two levels: the last loop is one too deep.
    rc, out, err = run(tmp_path, capsys, nest(MAX_NESTING - 1))
    assert rc == 1, err[-2000:]
    line = len(HEAD) + MAX_NESTING - 1
    assert f"input.mlir:{line}:1: error: ops nested more than {MAX_NESTING} deep" in err
    assert len(err) < 1000 and "Traceback" not in err


def test_deep_nest_in_a_real_process(tmp_path):
    path = tmp_path / "input.mlir"
    path.write_text(nest(200))
    proc = subprocess.run(
        [sys.executable, "-m", "kcompiler.tools.kc_opt", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("tile.for") == 200


@dataclass(frozen=True)
class BuggyPass(ModulePass):
    """Stands for a pass with a bug: fails on the first tile.binary it handles."""

    name = "buggy"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for inner in op.walk():
            if isinstance(inner, t.BinaryOp):
                raise KeyError("lhs")


@pytest.fixture
def buggy_pass(monkeypatch):
    passes = pipeline.all_passes()
    monkeypatch.setattr(pipeline, "all_passes", lambda: {**passes, "buggy": lambda: BuggyPass})


def test_an_unexpected_exception_is_an_internal_error_at_the_op(tmp_path, capsys, buggy_pass):
    text, _ = chain(5)
    rc, out, err = run(tmp_path, capsys, text, "-p", "buggy")
    assert rc == kc_opt.EXIT_INTERNAL == 70
    assert (
        "input.mlir:4:1: internal error: 'tile.binary' op KeyError: 'lhs' (while running pass 'buggy')"
        in err
    )
    assert "please report" in err and "--debug" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys, buggy_pass):
    text, _ = chain(5)
    with pytest.raises(KeyError, match="lhs"):
        run(tmp_path, capsys, text, "-p", "buggy", "--debug")


@dataclass(frozen=True)
class InsertBadOpPass(ModulePass):
    """Stands for a pass that builds an op its verifier refuses: the op has no text location."""

    name = "insert-bad-op"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        size = next(o for o in op.walk() if isinstance(o, t.SizeOp))
        bad = t.BinaryOp.create(  # f32: the operands make it i64
            operands=[size.results[0], size.results[0]],
            result_types=[t.BlockType([], f32)],
            properties={"kind": StringAttr("add")},
        )
        assert size.parent is not None
        size.parent.insert_op_after(bad, size)


def test_an_op_a_pass_created_is_reported_at_its_enclosing_op(tmp_path, capsys, monkeypatch):
    passes = pipeline.all_passes()
    monkeypatch.setattr(
        pipeline, "all_passes", lambda: {**passes, "insert-bad-op": lambda: InsertBadOpPass}
    )
    text, _ = chain(3)
    rc, out, err = run(tmp_path, capsys, text, "-p", "insert-bad-op")
    assert rc == 1, err
    lines = err.splitlines()
    # The kernel (line 2) is the nearest op with a location.
    assert "input.mlir:2:1: error: 'tile.binary' op result type !tile.block<[], f32>" in lines[0]
    assert lines[1].startswith("tile.kernel @k(")
    assert lines[3] == "note: the op was created by a pass; the location is its enclosing op's:"
    assert lines[4].strip().startswith('%0 = tile.binary "add" %v0, %v0')
    assert lines[5] == "note: the IR stopped verifying after pass 'insert-bad-op'"
    assert "Traceback" not in err


def test_without_a_big_stack_kc_opt_runs_on_the_calling_thread(tmp_path, capsys, monkeypatch):
    def refuse(size: int = 0) -> int:
        raise ValueError("size not valid")

    monkeypatch.setattr(threading, "stack_size", refuse)
    rc, out, err = run(tmp_path, capsys, nest(20))
    assert rc == 0, err
    assert out.count("tile.for") == 20
