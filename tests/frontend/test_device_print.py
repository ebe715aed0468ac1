"""kl.device_print and `print` in device code: a tile.print op, emitted as tl.device_print,
printing on every launch (Triton's interpreter prints with Python's print)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from xdsl.parser import Parser

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.dialects import tile as t
from kcompiler.passes.pipeline import make_context

THIS = Path(__file__).name


@kc.kernel
def shows(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=8):
        v = x[tile] * 2
        kl.device_print("doubled", v)
        print("begin", tile.begin)
        out[tile] = v
    return out


def test_device_print_prints_on_every_launch(capsys: pytest.CaptureFixture[str]) -> None:
    x = torch.arange(8.0)
    for _ in range(2):  # the second call is cached, and prints again: it is on the device
        torch.testing.assert_close(shows(x), x * 2)
        printed = capsys.readouterr().out
        assert re.search(r"doubled.*\[ *0\. +2\. +4\. .*14\.\]", printed), printed
        assert re.search(r"begin.*\[0\]", printed), printed


def test_device_print_lowers_to_tl_device_print() -> None:
    x = torch.arange(8.0)
    ir = shows.to_ir(x)
    assert 'tile.print "doubled"' in ir and 'tile.print "begin"' in ir
    code = shows.to_triton_code(x)
    assert re.search(r"tl\.device_print\('doubled', v\d+\)", code), code
    assert re.search(r"tl\.device_print\('begin', begin_\d+\)", code), code


def test_print_op_round_trips_and_verifies() -> None:
    text = shows.to_ir(torch.arange(8.0))
    module = Parser(make_context(), text).parse_module()
    module.verify()
    assert str(module) == text.strip()
    op = next(op for op in module.walk() if isinstance(op, t.PrintOp))
    op.prefix = t.StringAttr("two\nlines")
    with pytest.raises(Exception, match="one line"):
        op.verify()


@kc.kernel
def prints_badly(x: torch.Tensor, how: kl.constexpr) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if how == 0:
            kl.device_print(x[tile], x[tile])  # <- prefix
        elif how == 1:
            print("v", x[tile], sep=",")  # <- keyword
        elif how == 2:
            print("v", x[tile], "w")  # <- two-strings
        else:
            print("tensor", x)  # <- whole-tensor
        out[tile] = x[tile]
    return out


def _line(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(i for i, s in enumerate(lines, 1) if s.rstrip().endswith(f"# <- {marker}"))


@pytest.mark.parametrize(
    "how,marker,match",
    [
        (0, "prefix", "first argument is its prefix, a string; got a float32 device value"),
        (1, "keyword", r"print\(\.\.\., sep=\)"),
        (2, "two-strings", "one leading string"),
        (3, "whole-tensor", r"the tensor 'x' is used as a value.*x\[tile\]"),
    ],
)
def test_misused_prints_are_located_errors(how: int, marker: str, match: str) -> None:
    with pytest.raises(kc.exc.UnsupportedConstruct) as info:
        prints_badly(torch.randn(8), how)
    message = str(info.value)
    assert f"{THIS}:{_line(marker)}:" in message, message
    assert re.search(match, message), message


@kc.kernel
def branches_on_an_int(x: torch.Tensor, how: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        if how == 2:  # <- int-branch
            out[tile] = x[tile]
    return out


def test_if_on_an_int_argument_branches_at_run_time() -> None:
    # An ``if`` on a scalar argument is a device branch (it used to be refused, suggesting
    # kl.constexpr): both outcomes run from one compiled variant.
    x = torch.randn(8)
    torch.testing.assert_close(branches_on_an_int(x, 2), x)
    torch.testing.assert_close(branches_on_an_int(x, 3), torch.zeros(8))


def test_device_print_outside_a_kernel() -> None:
    with pytest.raises(kc.exc.NotInKernel):
        kl.device_print("x", 1)
