"""A fuzzer of device-loop bodies: random small Python programs made of the constructs device
code supports and of those it does not, each compiled from source text into a ``@kc.kernel``
and run on small CPU tensors (Triton's interpreter).

The guarantee under test (issues 18 and 20): a kernel either works, or raises a
``kcompiler.exc`` error whose message starts with the kernel file's ``file:line`` and speaks
of the user's constructs (never a frontend proxy's repr); never another exception type, never
an InternalCompilerError (that is a bug), never a crash.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc

HEADER = """\
import math

import torch

import kcompiler as kc
import kcompiler.language as kl

SCALE = 2.0


def helper(v):
    return v * 2 + 1


def not_a_kernel(v):
    raise RuntimeError("user helper failed")


@kc.kernel
def fuzzed(x, y, m, n: int, flag: bool):
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
"""
FOOTER = "    return out\n"
BODY_INDENT = 8

# Leaves of device expressions: values that exist in every body, and some that do not.
LEAVES = [
    "x[tile]", "y[tile]", "m[tile, :]", "1.0", "2", "n", "flag", "SCALE", "tile", "tile.begin",
    "tile.index", "x", "None", "3.5", "'text'", "undefined_name", "x.size(0)", "m.shape[1]",
]  # fmt: skip
DEVICE_LEAVES = ["x[tile]", "y[tile]", "x[tile] * SCALE", "2", "1.5", "n"]
UNARY = [
    "-{}", "abs({})", "torch.exp({})", "torch.sigmoid({})", "torch.sqrt(torch.abs({}))",
    "{}.sum()", "{}.sum(-1)", "{}.float()", "{}.to(torch.float16)", "{}.view(-1)",
    "{}[:, None]", "{}[0]", "{}[1:3]", "{}.T", "{}.no_attr", "{}.item()", "len({})", "int({})",
    "float({})", "list({})", "helper({})", "not_a_kernel({})", "unknown_fn({})",
    "math.exp({})", "torch.nn.functional.silu({})", "torch.relu({})", "(lambda a: a + 1)({})",
    "[{} for _ in range(2)][0]", "sum({} for _ in range(2))", "fuzzed({})", "print({})",
    "kl.tile({})", "kl.zeros([{}])", "torch.amax({}, dim=0)", "({} if flag else 0.0)",
    "torch.zeros_like({})", "kl.full([tile], {})",
]  # fmt: skip
# Operations device code supports, drawn as often as all the rest.
SUPPORTED_UNARY = [
    "-{}", "torch.exp({})", "torch.sigmoid({})", "{}.float()", "torch.relu({})", "helper({})",
    "torch.where({0} > 0, {0}, 0.0)", "torch.maximum({}, y[tile])", "({} if flag else 1.0)",
]  # fmt: skip
BINARY = ["+", "-", "*", "/", "//", "%", "**", "@", "<", "==", "&", "|", "and", "or"]


@st.composite
def expressions(draw: st.DrawFn, names: list[str], depth: int = 2) -> str:
    kind = draw(st.sampled_from(["leaf", "leaf", "unary", "binary"] if depth else ["leaf"]))
    if kind == "leaf":
        pool = draw(st.sampled_from([DEVICE_LEAVES, LEAVES, names or DEVICE_LEAVES]))
        return draw(st.sampled_from(pool))
    if kind == "unary":
        form = draw(st.sampled_from(draw(st.sampled_from([UNARY, SUPPORTED_UNARY]))))
        return form.format(draw(expressions(names, depth - 1)))
    a, b = draw(expressions(names, depth - 1)), draw(expressions(names, depth - 1))
    return f"({a} {draw(st.sampled_from(BINARY))} {b})"


def block(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines] or ["    pass"]


@st.composite
def statements(draw: st.DrawFn, names: list[str], depth: int = 1) -> list[str]:
    """One statement as source lines (nested ones indented); may define a new name."""
    e = draw(expressions(names))
    # Supported statements weigh more, so most programs reach code generation and a launch.
    kinds = ["assign"] * 6 + ["store"] * 6 + ["augassign"] * 2 + ["lambda", "comp", "expr"] + [
        "pass", "global", "print", "while", "try", "with", "del", "return", "assert",
        "setattr", "break", "yield",
    ]  # fmt: skip
    if depth:
        kinds += ["if_host"] * 3 + ["for_range"] * 2 + ["if_device", "for_tile"]
    kind = draw(st.sampled_from(kinds))
    if kind == "assign":
        name = f"v{len(names)}"
        names.append(name)
        return [f"{name} = {e}"]
    if kind == "store":
        target = draw(st.sampled_from(["out[tile]", "out[tile]", "y[tile]", "out", "x[0]"]))
        return [f"{target} = {e}"]
    if kind == "augassign":
        target = draw(st.sampled_from(names + ["out[tile]"]))
        return [f"{target} {draw(st.sampled_from(['+=', '*=', '-=', '@=']))} {e}"]
    if kind in ("if_host", "if_device"):
        test = draw(st.sampled_from(["flag", "n > 4", "m is None"])) if kind == "if_host" else e
        body = draw(statements(names, depth - 1))
        orelse = draw(statements(names, depth - 1))
        return [f"if {test}:", *block(body), "else:", *block(orelse)]
    if kind == "for_range":
        return ["for i in range(2):", *block(draw(statements(names + ["i"], depth - 1)))]
    if kind == "for_tile":
        inner = names + ["t2"]
        return ["for t2 in kl.tile(m.size(1)):", *block(draw(statements(inner, depth - 1)))]
    return {
        "expr": [e],
        "pass": ["pass"],
        "global": ["global SCALE"],
        "print": [f"print('value', {e})"],
        "while": ["while flag:", "    break"],
        "try": ["try:", f"    out[tile] = {e}", "except Exception:", "    pass"],
        "with": ["with torch.no_grad():", f"    out[tile] = {e}"],
        "del": ["del out"],
        "return": ["return out"],
        "assert": [f"assert {e}"],
        "lambda": [f"f = lambda a: a * {e}", "out[tile] = f(x[tile])"],
        "setattr": [f"x.attr = {e}"],
        "comp": [f"parts = [{e} for k in range(2)]", "out[tile] = parts[0]"],
        "break": ["break"],
        "yield": [f"yield {e}"],
    }[kind]


@st.composite
def bodies(draw: st.DrawFn) -> str:
    names: list[str] = []
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        lines += draw(statements(names))
    if draw(st.booleans()):
        lines.append("out[tile] = x[tile]")
    return "\n".join(lines)


_count = itertools.count()


def load_kernel(body: str, directory: Path) -> tuple[kc.Kernel, Path]:
    """``body`` as the device loop of ``fuzzed`` in a module file of its own."""
    path = directory / f"fuzzed_body_{next(_count)}.py"
    path.write_text(HEADER + textwrap.indent(body, " " * BODY_INDENT) + "\n" + FOOTER)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # inspect.getsource finds the module by name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop(path.stem, None)
    return module.fuzzed, path


PROXY_WORDS = ("TileValue", "TensorArg", "TileHandle", "TileRequest", "<value ", "<tensor ")


def check_body(body: str, directory: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # `2[1:3]` and the like
            compile(HEADER + textwrap.indent(body, " " * BODY_INDENT) + "\n" + FOOTER, "f", "exec")
    except SyntaxError:
        return  # Python refuses it before kcompiler sees it (`break` outside a loop)
    kernel, path = load_kernel(body, directory)
    x, y, m = torch.randn(8), torch.randn(8), torch.randn(8, 4)
    try:
        kernel(x, y, m, 8, True)
    except kc.exc.InternalCompilerError:
        raise  # a bug in kcompiler, whatever the body
    except kc.exc.KCompilerError as e:
        message = str(e)
        assert re.search(rf"{re.escape(path.name)}:\d+", message), (
            f"no {path.name}:<line> in {type(e).__name__}: {message}\nbody:\n{body}"
        )
        for word in PROXY_WORDS:
            assert word not in message, f"proxy repr in: {message}\nbody:\n{body}"


def _examples() -> int:
    # Enough programs to meet most constructs in the quick `ci` profile (~1 min), more in
    # `thorough`.
    return max(600, settings.default.max_examples * 10)


@settings(max_examples=_examples(), deadline=None)
@given(body=bodies())
def test_device_loop_bodies_work_or_raise_located_errors(
    body: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    check_body(body, tmp_path_factory.getbasetemp())


# Bodies that once escaped as internal errors or unlocated messages, kept as regressions.
REGRESSIONS = [
    "out[tile] = fuzzed(x[tile])",
    "global SCALE\nout[tile] = x[tile]",
    "out[tile] = sum(x[tile] * i for i in range(3))",
    "print('value', x[tile])\nout[tile] = x[tile]",
    "for t in kl.tile(3.5):\n    out[t] = x[t]",
    "a, b = x[tile]",
    "out[tile] = x",
    "out[tile] = 2",  # a scalar stored into a tile: once `2.to(tl.float32)` in the code
    "out[tile] = flag",
    "out[tile] = (n ** n)",  # an integer power: once Triton's float-only pow
    "f = lambda a: a * print(a)\nout[tile] = f(x[tile])",  # print inside a lambda
    "x.attr = 1.0",
]


@pytest.mark.parametrize("body", REGRESSIONS)
def test_regressions(body: str, tmp_path: Path) -> None:
    check_body(body, tmp_path)


def test_a_body_that_works_runs(tmp_path: Path) -> None:
    kernel, _ = load_kernel("v0 = x[tile] * SCALE\nout[tile] = helper(v0)", tmp_path)
    x = torch.randn(8)
    torch.testing.assert_close(kernel(x, x, torch.randn(8, 4), 8, True), x * 4 + 1)


def test_kernel_from_source_text_reports_its_file(tmp_path: Path) -> None:
    kernel, path = load_kernel("out[tile] = undefined_name", tmp_path)
    with pytest.raises(kc.exc.CompileError, match=rf"{path.name}:\d+:\d+: name 'undefined_name'"):
        kernel(torch.randn(8), torch.randn(8), torch.randn(8, 4), 8, True)
