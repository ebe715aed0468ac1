"""The Helion-unit-tests report: how a test method's outcome is classified, end to end.

The main case writes a small test file of its own in the spelling of Helion's tests (no Helion
code is needed or stored) and runs it through the report's child process; a second case runs
one real Helion test from the mirror, skipped where the mirror is absent.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks import helion_tests as report

TESTS = """
import os

import torch
import helion
import helion.language as hl
from helion import exc
from helion._compiler.compile_environment import CompileEnvironment
from helion._testing import DEVICE, TestCase, code_and_output


@helion.kernel
def add_one(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    return out


class TestStyle(TestCase):
    def test_pass(self):
        x = torch.arange(37, device=DEVICE, dtype=torch.float32)
        code, out = code_and_output(add_one, (x,), block_sizes=[16])
        torch.testing.assert_close(out, x + 1)
        self.assertIn("tl.load", code)
        self.assertExpectedJournal(code)

    def test_wrong_result(self):
        x = torch.arange(37, device=DEVICE, dtype=torch.float32)
        _, out = code_and_output(add_one, (x,))
        torch.testing.assert_close(out, x + 2)

    def test_code_count(self):
        x = torch.arange(5, device=DEVICE, dtype=torch.float32)
        code, _ = code_and_output(add_one, (x,))
        self.assertEqual(code.count("tl.store"), 1)

    def test_code_of_bind(self):
        code = add_one.bind((torch.zeros(3, device=DEVICE),)).to_triton_code()
        self.assertIn("no such text", code)

    def test_code_multiline(self):
        code, _ = code_and_output(add_one, (torch.zeros(3, device=DEVICE),))
        self.assertTrue(
            "tl.load" in code
        )

    def test_code_derived(self):
        code, out = code_and_output(add_one, (torch.zeros(3, device=DEVICE),))
        stores = [line for line in code.splitlines() if "tl.store" in line]
        self.assertTrue(stores)

    def test_wrong_after_reading_code(self):
        x = torch.zeros(3, device=DEVICE)
        code, out = code_and_output(add_one, (x,))
        self.assertNotIn("tl.atomic_add", code)
        self.assertTrue(torch.equal(out, x))

    def test_internal(self):
        CompileEnvironment.current()

    def test_helion_error(self):
        with self.assertRaises(exc.SomethingOnlyHelionRaises):
            add_one(torch.zeros(3, device=DEVICE))

    def test_language_gap(self):
        hl.no_such_language_function()

    def test_helion_bind(self):
        x = torch.zeros(3, device=DEVICE)
        torch.testing.assert_close(add_one.bind((x,)).run(), x + 1)

    def test_crash(self):
        os._exit(3)

    def test_runs_only(self):
        code_and_output(add_one, (torch.zeros(3, device=DEVICE),))
"""


def test_each_outcome_is_classified(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test_style.py").write_text(TESTS)
    rows = report.run_one_file("test_style", tmp_path, 60.0, [], report.child_env(tmp_path))
    got = {r["test"].split(".")[-1]: (r["status"], r["detail"]) for r in rows}
    assert got["test_pass"] == ("PASS", "1 checks, 2 code checks ignored")
    assert got["test_wrong_result"][0] == "FAIL"
    line = 1 + TESTS.splitlines().index("        torch.testing.assert_close(out, x + 2)")
    assert got["test_wrong_result"][1].startswith(f"line {line}: Tensor-likes are not close")
    assert got["test_code_count"] == ("SKIP", "asserts on generated code text")
    assert got["test_code_multiline"] == ("SKIP", "asserts on generated code text")
    assert got["test_code_derived"] == ("SKIP", "asserts on generated code text")
    assert got["test_wrong_after_reading_code"][0] == "FAIL"
    assert got["test_internal"] == (
        "SKIP",
        "uses Helion internal helion._compiler.compile_environment.CompileEnvironment.current",
    )
    assert got["test_helion_error"] == (
        "SKIP",
        "expects Helion-specific error helion.exc.SomethingOnlyHelionRaises",
    )
    assert got["test_language_gap"][0] == "ERROR"
    assert "no_such_language_function" in got["test_language_gap"][1]
    assert got["test_runs_only"] == ("PASS", "ran; no result check")
    assert got["test_helion_bind"] == ("PASS", "1 checks")
    assert got["test_code_of_bind"] == ("PASS", "ran; no result check, 1 code checks ignored")
    # A test that kills its process costs only itself: a fresh child runs the rest.
    assert got["test_crash"] == ("ERROR", "child died")
    assert len(got) == 13


def test_one_helion_test_from_the_mirror(tmp_path: Path) -> None:
    repo = report.DEFAULT_HELION
    known = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", report.DEFAULT_COMMIT],
        capture_output=True,
    )
    if not repo.exists() or known.returncode != 0:
        pytest.skip("Helion's mirror is absent")
    out = tmp_path / "report.md"
    report.main(
        ["--files", "test_control_flow", "--tests", "test_constant_branch_true_simple"]
        + ["--out", str(out)]
    )
    text = out.read_text()
    assert "| TestControlFlow.test_constant_branch_true_simple | PASS | 1 checks |" in text
    assert "**Totals: PASS 1, FAIL 0, ERROR 0, SKIP 0**" in text


def test_errors_are_grouped_by_construct() -> None:
    assert report.construct_of("UnknownOption: unknown Config field 'reduction_loop' (did") == (
        "Config field `reduction_loop`"
    )
    assert report.construct_of(
        "UnsupportedConstruct: test/t.py:3:9: torch.gather is not supported in device code"
    ) == ("`torch.gather` in device code")
    assert report.construct_of("ValueError: test/t.py:12:4: odd thing 12 happened") == (
        "ValueError: odd thing N happened"
    )
