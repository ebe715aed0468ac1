"""Compatibility report: Helion's unit tests run on kcompiler, test method by test method.

Helion's ``test/`` files hold hundreds of small kernels that exercise the language's corners.
This script extracts the chosen files (and ``test/data``, ``examples``) from a Helion
repository at a pinned commit into a temporary folder (never into this repository) and runs
each file's ``unittest`` test methods in a child process where ``import helion`` resolves to
kcompiler (``benchmarks/helion_test_shim.py``: ``helion.language`` is ``kcompiler.language``,
``helion._testing`` the shim, Helion-only modules placeholders). Each test method runs under
Triton's CPU interpreter with a time limit; the outcome is

- PASS: the test ran to the end (``checks`` says how many result checks it made; a test with
  none only ran its kernels);
- FAIL: a result check failed (an assertion in the test's own code, not on generated code):
  kcompiler computed a wrong result, or disagrees with an assertion about values;
- ERROR: an exception (its first line), or the time limit;
- SKIP: the test skips itself here, or it checks what kcompiler does not share with Helion by
  design: Helion's internals (``helion._compiler``, the autotuner, config specs), its generated
  code text, or its own error classes (the reason is shown).

The report goes to ``benchmarks/results/cpu/helion-tests.md``::

    python -m benchmarks.helion_tests                                  # the default files
    python -m benchmarks.helion_tests --files test_loops test_views --jobs 2
    python -m benchmarks.helion_tests --files test_indexing --tests test_broadcast

A child that dies or hangs past the limit loses only the test it was running: the file's
remaining tests run in a fresh child.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
from pathlib import Path
from typing import Any

from benchmarks.helion_examples import DEFAULT_COMMIT, DEFAULT_HELION, REPO_ROOT, first_line

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "cpu" / "helion-tests.md"

# Language-level test files (those present at DEFAULT_COMMIT).
DEFAULT_FILES = (
    "test_indexing",
    "test_reductions",
    "test_loops",
    "test_control_flow",
    "test_broadcasting",
    "test_views",
    "test_masking",
    "test_constexpr",
    "test_closures",
    "test_associative_scan",
    "test_atomic_ops",
    "test_matmul",
    "test_tensor_descriptor",
    "test_grid",
    "test_misc",
    "test_type_propagation",
)

STATUSES = ("PASS", "FAIL", "ERROR", "SKIP")

# Attributes of Helion's kernel objects that are its compiler's internals (SKIP when a test
# reads them from kcompiler's Kernel/BoundKernel), beside any private (``_``) name: the
# config spec, the compile environment, the cache key its kernels are bound under.
HELION_INTERNAL_ATTRS = ("config_spec", "host_function", "env", "specialization_key")


class TestTimeout(BaseException):
    """The per-test time limit passed (a BaseException, so no ``except Exception`` in the
    code under test swallows it)."""


# -- the child: one file's tests -------------------------------------------------------------


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return seen


def _test_frame(err: BaseException, test_file: str) -> Any:
    """The innermost traceback frame that is in the test file (or None)."""
    frame = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == test_file:
            frame = tb
        tb = tb.tb_next
    return frame


def _statement_names(test_file: str, lineno: int) -> set[str]:
    """The names in the innermost statement of ``test_file`` that spans ``lineno`` (a call
    written over several lines fails at its first line)."""
    import ast

    tree = _parsed(test_file)
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or 0):
            if best is None or node.lineno >= best.lineno and node.end_lineno <= best.end_lineno:
                best = node
    if best is None:
        return set()
    return {n.id for n in ast.walk(best) if isinstance(n, ast.Name)}


_PARSED: dict[str, Any] = {}


def _parsed(test_file: str) -> Any:
    import ast

    if test_file not in _PARSED:
        _PARSED[test_file] = ast.parse(Path(test_file).read_text())
    return _PARSED[test_file]


def _asserts_on_code(err: BaseException, test_file: str) -> bool:
    """Whether the failing statement of the test checks generated code text: it names a
    local holding the text, or the test read the text and the statement names no tensor
    (``self.assertTrue(store_lines)`` on lines picked from the code)."""
    import torch

    from benchmarks.helion_test_shim import CHECKS, CodeText

    tb = _test_frame(err, test_file)
    if tb is None:
        return False
    values = [tb.tb_frame.f_locals.get(n) for n in _statement_names(test_file, tb.tb_lineno)]
    if any(isinstance(v, CodeText) for v in values):
        return True

    def tensors(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return any(tensors(item) for item in v)
        return isinstance(v, torch.Tensor)

    return CHECKS["read"] > 0 and not any(tensors(v) for v in values)


def _from_a_check(err: BaseException, test_file: str) -> bool:
    """Whether an AssertionError was raised by a check: the test's own ``assert``, a
    unittest assertion, ``torch.testing`` or the shim's comparison (not, say, torch's
    ``AssertionError("Torch not compiled with CUDA enabled")``)."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    last = frames[-1].filename
    checks = (os.sep + "unittest" + os.sep, "torch/testing/", "helion_test_shim.py")
    return last == test_file or any(c in last for c in checks)


# Messages of torch calls a test makes that need a GPU (the test's own, not the kernel's).
_GPU_ONLY = (
    "Torch not compiled with CUDA enabled",
    "Cannot access accelerator device when none is available",
)


def classify(err: BaseException, test_file: str, timeout: float) -> tuple[str, str]:
    """(status, detail) of a test that raised ``err``."""
    from benchmarks.helion_test_shim import HelionInternal
    from kcompiler.exc import NeedsGPU

    chain = _chain(err)
    for e in chain:
        if isinstance(e, HelionInternal):
            return "SKIP", str(e)
        if isinstance(e, TestTimeout):
            return "ERROR", f"time limit ({timeout:.0f}s) exceeded"
        if isinstance(e, NeedsGPU):
            return "SKIP", f"needs a GPU: {first_line(e)}"
    if isinstance(err, AttributeError):
        name = getattr(err, "name", None)
        owner = type(getattr(err, "obj", None)).__name__
        internal = name in HELION_INTERNAL_ATTRS or str(name).startswith("_")
        if internal and owner in ("Kernel", "BoundKernel"):
            return "SKIP", f"uses Helion internal {owner}.{name}"
    for e in chain:
        for sign in _GPU_ONLY:
            if sign in str(e):
                return "SKIP", f"needs a GPU: {sign}"
        if "torch._inductor" in str(e):
            return "SKIP", f"uses torch inductor internals (Helion's code generation): {e}"
    if isinstance(err, AssertionError):
        if not _from_a_check(err, test_file):
            return "ERROR", first_line(err)
        if _asserts_on_code(err, test_file):
            return "SKIP", "asserts on generated code text"
        tb = _test_frame(err, test_file)
        where = f"line {tb.tb_lineno}: " if tb is not None else ""
        return "FAIL", where + " ".join(str(err).split())[:300]
    return "ERROR", first_line(err)


class _Result(unittest.TestResult):
    """Keeps the exception object (not only its formatted traceback) for ``classify``."""

    def __init__(self) -> None:
        super().__init__()
        self.outcome: tuple[str, Any] = ("PASS", None)

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802 - unittest's name
        self.outcome = ("RAISED", err[1])

    def addFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self.outcome = ("RAISED", err[1])

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:  # noqa: N802
        if err is not None and self.outcome[0] == "PASS":
            self.outcome = ("RAISED", err[1])

    def addSkip(self, test: Any, reason: str) -> None:  # noqa: N802
        self.outcome = ("SKIP", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:  # noqa: N802
        self.outcome = ("RAISED", err[1])

    def addUnexpectedSuccess(self, test: Any) -> None:  # noqa: N802
        self.outcome = ("PASS", None)


def _tests_of(module: Any) -> list[unittest.TestCase]:
    flat: list[unittest.TestCase] = []

    def walk(suite: Any) -> None:
        for item in suite:
            if isinstance(item, unittest.TestSuite):
                walk(item)
            else:
                flat.append(item)

    walk(unittest.TestLoader().loadTestsFromModule(module))
    return flat


def _test_name(test: unittest.TestCase) -> str:
    return f"{type(test).__name__}.{test._testMethodName}"


def _install_checks() -> None:
    """Count result checks; make ``pytest.raises`` of a Helion-only error a SKIP."""
    import torch

    from benchmarks import helion_test_shim as shim

    torch.testing.assert_close = shim.counting(torch.testing.assert_close)
    try:
        import pytest
    except ImportError:
        return
    raises = pytest.raises

    def checked_raises(*args: Any, **kwargs: Any) -> Any:
        expected = args[0] if args else kwargs.get("expected_exception")
        for error in expected if isinstance(expected, tuple) else (expected,):
            if isinstance(error, type) and issubclass(error, shim.HelionOnlyError):
                raise unittest.SkipTest(f"expects Helion-specific error {error.__qualname__}")
        shim.CHECKS["result"] += 1
        return raises(*args, **kwargs)

    pytest.raises = checked_raises


def _bind_as_helion(staged: Path) -> None:
    """Helion's ``kernel.bind(args)`` takes the arguments as one tuple, kcompiler's
    ``bind(*args)`` as positional arguments: a call made from a staged Helion file with one
    tuple or list is unpacked. kcompiler's own calls of ``bind`` are left alone. The code
    ``to_triton_code`` gives a test is a ``CodeText``, as ``code_and_output``'s is."""
    from benchmarks.helion_test_shim import CodeText
    from kcompiler.runtime.kernel import BoundKernel, Kernel

    for owner in (Kernel, BoundKernel):
        owner.to_triton_code = _as_code_text(owner.to_triton_code, CodeText)  # type: ignore

    own = Kernel.bind
    root = str(staged) + os.sep

    def bind(self: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_filename
        if caller.startswith(root) and len(args) == 1 and not kwargs:
            if isinstance(args[0], (tuple, list)):
                args = tuple(args[0])
        return own(self, *args, **kwargs)

    Kernel.bind = bind  # type: ignore[method-assign]


def _as_code_text(method: Any, code_text: type) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return code_text(method(*args, **kwargs))

    return wrapped


def run_file(
    name: str, staged: Path, result: Path, done: set[str], only: list[str], timeout: float
) -> None:
    """Child process: import ``staged/test/<name>.py`` with Helion aliased to kcompiler and run
    its tests not in ``done`` (those matching ``only``, when given), appending a JSON line
    per test to ``result`` (a "start" line first, so a crash names the test)."""
    import importlib.util
    import warnings

    warnings.simplefilter("ignore")
    from benchmarks import helion_test_shim as shim

    shim.install_helion_aliases()
    _install_checks()
    _bind_as_helion(staged)
    sys.path.insert(0, str(staged / "test"))
    test_file = str(staged / "test" / f"{name}.py")

    def write(row: dict[str, Any]) -> None:
        if "detail" in row:
            row["detail"] = row["detail"].replace(str(staged) + os.sep, "")
        with result.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def on_alarm(signum: int, frame: Any) -> None:
        raise TestTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        spec = importlib.util.spec_from_file_location(name, test_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        signal.alarm(int(timeout))
        spec.loader.exec_module(module)
        signal.alarm(0)
        tests = _tests_of(module)
    except BaseException as err:  # noqa: BLE001 - the file's one row
        signal.alarm(0)
        status, detail = classify(err, test_file, timeout)
        write({"test": "<module>", "status": status, "detail": detail, "seconds": 0})
        return
    for test in tests:
        tname = _test_name(test)
        if tname in done or (only and not any(o in tname for o in only)):
            continue
        write({"start": tname})
        shim.CHECKS.update(result=0, code=0, read=0)
        outcome = _Result()
        start = time.monotonic()
        signal.alarm(int(timeout))
        try:
            test.run(outcome)
        except TestTimeout as err:  # raised in setUp/tearDown bookkeeping
            outcome.outcome = ("RAISED", err)
        finally:
            signal.alarm(0)
        seconds = round(time.monotonic() - start, 1)
        kind, value = outcome.outcome
        if kind == "RAISED":
            status, detail = classify(value, test_file, timeout)
        elif kind == "SKIP":
            status, detail = "SKIP", str(value)
        else:
            status = "PASS"
            checks = shim.CHECKS["result"]
            detail = f"{checks} checks" if checks else "ran; no result check"
            if shim.CHECKS["code"]:
                detail += f", {shim.CHECKS['code']} code checks ignored"
        write({"test": tname, "status": status, "detail": detail, "seconds": seconds})


# -- the parent ------------------------------------------------------------------------------


def stage(repo: Path, commit: str, into: Path) -> None:
    """Extract ``test/`` and ``examples/`` at ``commit`` (a bare git directory or a checkout)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", commit, "test", "examples"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The finished rows of a child's result file, and the test it started last without
    finishing (None when every started test finished)."""
    rows, started = [], None
    if path.exists():
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if "start" in entry:
                started = entry["start"]
            else:
                rows.append(entry)
                started = None
    return rows, started


def run_one_file(
    name: str, staged: Path, timeout: float, only: list[str], env: dict[str, str]
) -> list[dict[str, Any]]:
    """All rows of one file: a child runs the tests; one that dies or hangs is killed, its
    current test recorded as ERROR, and a fresh child goes on with the rest."""
    result = staged / f"{name}.jsonl"
    result.unlink(missing_ok=True)
    while True:
        rows, _ = _read_rows(result)
        done = staged / f"{name}.done"
        done.write_text("\n".join(r["test"] for r in rows))
        command = [sys.executable, "-m", "benchmarks.helion_tests", "--run-file", name]
        command += ["--staged", str(staged), "--result", str(result), "--done", str(done)]
        command += ["--timeout", str(timeout)]
        for o in only:
            command += ["--tests", o]
        child = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        last, size = time.monotonic(), -1
        while child.poll() is None:
            time.sleep(0.5)
            now_size = result.stat().st_size if result.exists() else 0
            if now_size != size:
                last, size = time.monotonic(), now_size
            elif time.monotonic() - last > timeout + 60:
                child.kill()
                child.wait()
                break
        stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
        rows, started = _read_rows(result)
        if started is None:
            if child.returncode not in (0, None) and not rows:
                tail = (stderr.strip().splitlines() or ["no output"])[-1]
                return [{"test": "<module>", "status": "ERROR", "detail": f"child died: {tail}"}]
            return rows
        died = "killed (hung past the time limit)" if child.returncode == -9 else "child died"
        tail = (stderr.strip().splitlines() or [""])[-1]
        entry = {"test": started, "status": "ERROR", "detail": f"{died}: {tail}".strip(": ")}
        with result.open("a") as f:
            f.write(json.dumps({**entry, "seconds": 0}) + "\n")


def child_env(staged: Path) -> dict[str, str]:
    """The children's environment: this repository importable, the interpreter on, and the
    staged folder named for the shim's ``EXAMPLES_DIR``."""
    env = dict(os.environ)
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *inherited])
    env["TRITON_INTERPRET"] = "1"
    env["HELION_TESTS_STAGED"] = str(staged)
    return env


# What an ERROR row is about, read from its message: (pattern, label), the first match wins;
# a label may name the pattern's groups. A message no pattern matches is grouped by its
# exception type and opening words.
CONSTRUCTS: tuple[tuple[str, str], ...] = (
    (r"time limit", "time limit on the interpreter (the test's own sizes)"),
    (r"killed \(hung|child died", "the test's process died or hung"),
    (r"unknown Config field '(\w+)'", "Config field `{0}`"),
    (r"(\w+)\[\d+\] = .*not supported yet", "Config knob `{0}` (only its default is emitted)"),
    (r"not supported: (num_threads)", "Config knob `{0}` (CuTe's)"),
    (r"unknown kc.kernel option '(\w+)'", "kernel option `{0}`"),
    (r"'(?:Bound)?Kernel' object has no attribute '(\w+)'", "Kernel API `.{0}`"),
    (r"module 'kcompiler\.(\w+)' has no attribute '(\w+)'", "`helion.{0}.{1}`"),
    (r"torch\.(\w+) is not supported in device code", "`torch.{0}` in device code"),
    (r"'\.\.\.' in a tensor index", "`...` (Ellipsis) in an index"),
    (r"several index tensors in one subscript", "several index tensors in one subscript"),
    (r"control flow on a device value", "`if` on a device value"),
    (r"`while`", "`while` loop forms"),
    (r"kl\.arange|hl\.arange", "`hl.arange` with computed bounds or a step"),
    (r"tile \(the loop variable of kl.tile\) has no attribute '(\w+)'", "`tile.{0}`"),
    (r"operand type\(s\) for [^:]*: 'tile'", "arithmetic on a tile object (`tile + 1`)"),
    (r"must be tuple of ints, but found element of type tile", "a tile as a reshape size"),
    (r"IndexOutOfBounds: .*index -1", "negative indices"),
    (r"view\(-1\)|reshape", "view / reshape forms"),
    (r"kl\.split|kl\.join", "`hl.split` / `hl.join`"),
    (r"mean/var/std over a tile dim", "mean/var/std over a tile dim"),
    (r"(\w+) reductions are not supported", "`{0}` reduction"),
    (r"associative_scan|combine_mode", "`hl.associative_scan` forms"),
    (r"a host value known only when the kernel is called", "a host int as a block size"),
    (r"is used as a value|as a device value", "a whole tensor used as a device value"),
    (r"ShapeMismatch", "shape inference (ShapeMismatch)"),
    (r"NoBackward", "inputs that require grad"),
    (r"missing a required argument", "a kernel called with missing arguments"),
)


def construct_of(detail: str) -> str:
    """The construct an ERROR row's message is about (``CONSTRUCTS``)."""
    for pattern, label in CONSTRUCTS:
        m = re.search(pattern, detail)
        if m:
            return label.format(*m.groups())
    text = re.sub(r"\S+\.py:\d+(:\d+)?:?\s*", "", detail)
    return re.sub(r"\b\d+\b", "N", text).strip()[:80]


def render(
    results: dict[str, list[dict[str, Any]]], commit: str, timeout: float, wall: float
) -> str:
    """The report: totals, every FAIL, the commonest ERROR causes, then a table per file."""
    total = collections.Counter(r["status"] for rows in results.values() for r in rows)
    no_check = sum(
        r["status"] == "PASS" and r["detail"].startswith("ran;")
        for rows in results.values()
        for r in rows
    )
    lines = [
        "# Helion's unit tests on kcompiler",
        "",
        f"Generated by `python -m benchmarks.helion_tests` on the CPU (Triton interpreter): "
        f"each test method of the files below from Helion's `test/` at commit `{commit[:12]}`, "
        f"with `helion` resolved to kcompiler and `helion._testing` to "
        f"`benchmarks/helion_test_shim.py`; the tests' own sizes; time limit {timeout:.0f}s "
        f"per test; {wall / 60:.1f} min in all. Adapted to kcompiler: assertions on generated "
        "code text are no-ops (counted), `code_and_output` drops Helion's other backends' "
        "config keys (as Helion's does on its Triton backend), and the tests' "
        "`kernel.bind((args,))` is kcompiler's `bind(*args)`. Rows near the time limit "
        "can change with the machine's load.",
        "",
        f"**Totals: PASS {total['PASS']}, FAIL {total['FAIL']}, ERROR {total['ERROR']}, "
        f"SKIP {total['SKIP']}** ({no_check} of the passes made no result check: they ran "
        "their kernels, and their only assertions were on generated code).",
        "",
        "| file | PASS | FAIL | ERROR | SKIP |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, rows in results.items():
        c = collections.Counter(r["status"] for r in rows)
        lines.append(f"| {name} | " + " | ".join(str(c[s]) for s in STATUSES) + " |")
    fails = [(n, r) for n, rows in results.items() for r in rows if r["status"] == "FAIL"]
    lines += ["", f"## FAIL: wrong results ({len(fails)})", ""]
    lines += [f"- `{n}::{r['test']}`: {_cell(r['detail'])}" for n, r in fails] or ["None."]
    errors = [(n, r) for n, rows in results.items() for r in rows if r["status"] == "ERROR"]
    groups: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for n, r in errors:
        groups[construct_of(r["detail"])].append((f"{n}::{r['test']}", r["detail"]))
    lines += ["", f"## ERROR causes by construct ({len(errors)} errors)", ""]
    lines += ["| count | construct | e.g. | first error |", "| --- | --- | --- | --- |"]
    for cause, rows in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        test, detail = rows[0]
        lines.append(f"| {len(rows)} | {_cell(cause)} | `{test}` | {_cell(detail)[:160]} |")
    skips = collections.Counter(
        _skip_reason(r["detail"])
        for rows in results.values()
        for r in rows
        if r["status"] == "SKIP"
    )
    lines += ["", "## SKIP reasons", "", "| count | reason |", "| --- | --- |"]
    lines += [f"| {k} | {_cell(reason)} |" for reason, k in skips.most_common()]
    for name, rows in results.items():
        lines += [
            "",
            f"## {name}",
            "",
            "| test | result | detail | s |",
            "| --- | --- | --- | --- |",
        ]
        for r in rows:
            lines.append(
                f"| {r['test']} | {r['status']} | {_cell(r['detail'])} | {r.get('seconds', '')} |"
            )
    return "\n".join(lines) + "\n"


def _skip_reason(detail: str) -> str:
    """A SKIP reason with the test-specific name taken out, for counting."""
    return re.sub(r"(internal|error) [\w.]+", r"\1 ...", detail)[:100]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:240]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", nargs="*", default=list(DEFAULT_FILES))
    parser.add_argument("--tests", action="append", default=[], help="substring of test names")
    parser.add_argument("--helion-repo", type=Path, default=DEFAULT_HELION)
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per test")
    parser.add_argument("--jobs", type=int, default=1, help="files run at once")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--run-file", help=argparse.SUPPRESS)
    parser.add_argument("--staged", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--done", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_file:
        done = set(args.done.read_text().split()) if args.done else set()
        run_file(args.run_file, args.staged, args.result, done, args.tests, args.timeout)
        return

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="helion-tests-") as tmp:
        staged = Path(tmp)
        stage(args.helion_repo, args.commit, staged)
        missing = [f for f in args.files if not (staged / "test" / f"{f}.py").is_file()]
        if missing:
            print(f"not at {args.commit[:12]}: {', '.join(missing)}", file=sys.stderr)
        files = [f for f in args.files if f not in missing]
        env = child_env(staged)

        def one(name: str) -> list[dict[str, Any]]:
            rows = run_one_file(name, staged, args.timeout, args.tests, env)
            c = collections.Counter(r["status"] for r in rows)
            print(f"{name}: " + ", ".join(f"{s} {c[s]}" for s in STATUSES), flush=True)
            return rows

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = dict(zip(files, pool.map(one, files)))
    report = render(results, args.commit, args.timeout, time.monotonic() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
