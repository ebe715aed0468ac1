"""The bad-input corpus: one row per case, each a kernel call (or a kc-opt run, a Config) that
a user can get wrong, and what must happen.

Allowed outcomes, never a hang, a silently wrong result or a raw Triton error:

* ``Raises``: a kcompiler error (``kc.exc.*``; ``InvalidArgument`` is a TypeError,
  ``InvalidConfig`` a ValueError) whose message names the kernel's source line
  (``bad_input_kernels.py:<line>`` of the ``# <- name`` marker) or the argument / knob;
* ``HostRaises``: host code is plain Python, so a Python error raised by the user's own host
  statement is fine when its traceback points at that line (the marker);
* ``Matches``: the call works and equals the torch reference (zero-size and size-1 dims,
  strided and overlapping inputs, promotions);
* ``Holds``: a property of what was specialized or emitted (64-bit indexing);
* ``KcOpt``: ``kc-opt`` on malformed IR or options: exit code 1, a diagnostic on stderr
  (``file:line:col`` of the op for anything about the input: syntax, verifier, pass and emitter
  errors), no Python traceback. tests/bad_inputs/test_kc_opt_scale.py holds the generated ones
  (24k ops, deep nests, internal errors).

Rows that fail because of a compiler bug are strict xfails saying why. tests/kernels/
test_bad_input.py (another table) holds the cases of each kind kept there; this corpus is the
broader one and does not repeat them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import bad_input_kernels as K  # tests/bad_inputs is on sys.path (no __init__.py)
import numpy as np
import pytest
import torch

import kcompiler as kc
from kcompiler.frontend.specialize import specialize
from kcompiler.kernels import softmax as SM
from kcompiler.kernels.attention import attention
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.jagged_mean import jagged_mean
from kcompiler.kernels.layer_norm import layer_norm
from kcompiler.kernels.rms_norm import rms_norm
from kcompiler.kernels.softmax import softmax as bundled_softmax
from kcompiler.kernels.vector_exp import vector_exp
from kcompiler.runtime.kernel import interpreting
from kcompiler.tools import kc_opt

KFILE = Path(K.__file__)
C = kc.Config
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def line_of(marker: str) -> int:
    hits = [i for i, s in enumerate(KFILE.read_text().splitlines(), 1) if f"# <- {marker}" in s]
    assert len(hits) == 1, f"marker {marker!r} must mark exactly one line"
    return hits[0]


def g(*shape: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    t = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return t.to(dtype)


# -- expectations --------------------------------------------------------------------------------


@dataclass
class Raises:
    types: tuple[type[BaseException], ...]
    marker: str | None = None  # the message names this kernel line
    match: str | None = None  # ... and/or matches this (the argument or knob)
    cause: type[BaseException] | None = None  # chained ``from`` this (internal errors)

    def check(self, run: Callable[[], Any]) -> None:
        with pytest.raises(self.types) as info:
            run()
        message = str(info.value)
        if self.cause is not None:
            assert isinstance(info.value.__cause__, self.cause), repr(info.value.__cause__)
        for word in ("TileValue", "TensorArg", "TileHandle", "<value ", "<tensor "):
            assert word not in message, f"a frontend proxy in the message: {message}"
        if self.marker is not None:
            where = f"{KFILE.name}:{line_of(self.marker)}"
            assert re.search(rf"{re.escape(where)}\b", message), f"no {where} in: {message}"
        if self.match is not None:
            assert re.search(self.match, message), f"{self.match!r} not in: {message}"
        assert "triton" not in type(info.value).__module__, f"a raw Triton error: {message}"


@dataclass
class HostRaises:
    type: type[BaseException]
    marker: str

    def check(self, run: Callable[[], Any]) -> None:
        with pytest.raises(self.type) as info:
            run()
        frames = traceback.extract_tb(info.tb)
        line = line_of(self.marker)
        assert any(Path(f.filename) == KFILE and f.lineno == line for f in frames), (
            f"no traceback frame at {KFILE.name}:{line}: {[(f.filename, f.lineno) for f in frames]}"
        )


@dataclass
class Matches:
    reference: Callable[[], Any]
    exact: bool = False

    def check(self, run: Callable[[], Any]) -> None:
        got, want = run(), self.reference()
        assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
        if self.exact:
            assert torch.equal(got, want), (got, want)
        else:
            torch.testing.assert_close(got, want, equal_nan=True)


@dataclass
class Holds:
    def check(self, run: Callable[[], Any]) -> None:
        assert run() is True


@dataclass
class KcOpt:
    text: str | bytes
    args: tuple[str, ...] = ()
    location: bool = True  # file:line:col: the input is at fault (not an option)
    match: str | None = None
    subprocess: bool = False  # through `python -m kcompiler.tools.kc_opt`

    def check(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "input.mlir"
        path.write_bytes(self.text if isinstance(self.text, bytes) else self.text.encode())
        argv = [str(path), *self.args]
        if self.subprocess:
            proc = subprocess.run(
                [sys.executable, "-m", "kcompiler.tools.kc_opt", *argv],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            rc, err = proc.returncode, proc.stderr
        else:
            rc = kc_opt.main(argv)
            err = capsys.readouterr().err
        assert rc == 1, f"exit code {rc}; stderr: {err}"
        assert "Traceback" not in err, err
        assert "error" in err, err
        if self.location:
            assert re.search(rf"{re.escape(path.name)}:\d+:\d+: error", err), err
        if self.match is not None:
            assert re.search(self.match, err), err


@dataclass
class Case:
    id: str
    run: Callable[[], Any] | None
    expect: Any
    xfail: str | None = None
    skip: str | None = None
    marks: list[Any] = field(default_factory=list)

    def param(self) -> Any:
        marks = list(self.marks)
        if self.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=self.xfail))
        if self.skip:
            marks.append(pytest.mark.skip(reason=self.skip))
        return pytest.param(self, id=self.id, marks=marks)


# -- the bugs (xfail reasons) -------------------------------------------------------------------------

OOB = (
    "a tile over one size indexes a tensor dim of another size: the load/store is masked by "
    "the loop's extent only, so it reads (or writes) past the tensor's end and the result is "
    "silently wrong; expected ShapeMismatch naming the tensor (or torch's size-1 broadcast)"
)
OVERLAPPING_OUT = (
    "a store into an output whose elements overlap in memory (stride 0) is not rejected: the "
    "last program's write wins (on a GPU: any one); torch refuses to write such a tensor in place"
)
META = "a meta tensor passes the device check (only cpu/cuda are checked) and fails in Triton's launcher"
AFTER_LOOP = (
    "host code reading a value defined only inside a device loop fails at run time with a bare "
    "NameError ('not defined'); expected a CompileError at that line saying device values "
    "reach the host only through tensors"
)
HOST_ACCUMULATE = (
    "a device loop that assigns a host variable (total = total + ...) is traced as a device "
    "local: the host still sees 0.0 after the loop, a silently wrong result; expected a "
    "CompileError naming the variable"
)
YIELD = (
    "`yield` in device code raises a SyntaxError ('yield' outside function) with a line relative "
    "to the kernel, from compiling the expression; expected UnsupportedConstruct at the line"
)
NO_LOCATION = "the error raised inside an expression's evaluation has no file:line"
BOOL_ADD = (
    "bool + bool is emitted as int1 addition, which wraps (True + True = False): torch gives "
    "logical or; a silently wrong result"
)
NUMEL = (
    "a block of 2**21 elements (over Triton's 2**20) in an explicit Config reaches Triton and "
    "fails there (InterpreterError 'numel exceeds'); the space's MaxProduct rule is not applied "
    "to a given Config: expected InvalidConfig naming block_sizes"
)
CONFIG_TYPES = (
    "a scalar where a Config field takes a list raises a bare TypeError ('int' object is not "
    "iterable) that names no knob"
)
NUM_STAGES = "num_stages=0 is accepted (not validated); expected InvalidConfig naming num_stages"


# -- IR texts for kc-opt ---------------------------------------------------------------------------------

_KERNEL_HEAD = 'builtin.module {\n  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {\n    %n = tile.size "s0" : !tile.block<[], i64>\n'
_KERNEL_TAIL = "  }\n}\n"
UNKNOWN_OP = _KERNEL_HEAD + "    %a = tile.bogus %n : !tile.block<[], i64>\n" + _KERNEL_TAIL
UNDEFINED_VALUE = (
    _KERNEL_HEAD
    + '    %a = tile.binary "add" %n, %nine : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>\n'
    + _KERNEL_TAIL
)
TRUNCATED = _KERNEL_HEAD
BAD_TYPE = "builtin.module {\n  tile.kernel @k(%x: !tile.tensor<[s0 s1], f32>) {\n  }\n}\n"
WRONG_RESULT_TYPE = (
    _KERNEL_HEAD
    + '    %a = tile.binary "add" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f32>\n'
    + _KERNEL_TAIL
)
BAD_REDUCTION = (
    _KERNEL_HEAD
    + '    %a = tile.binary "add" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<?>\n'
    + '    %b = tile.reduce "sum" %a dim 3 : i64 : !tile.block<?> -> !tile.block<?>\n'
    + _KERNEL_TAIL
)
# A whole-row load (s1 = 4096 per the size hints) next to block_0: 256 x 4096 elements.
TWO_LOADS = (
    "builtin.module {\n"
    "  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 64 : i64, s1 = 4096 : i64}} {\n"
    '    %n = tile.size "s0" : !tile.block<[], i64>\n'
    "    tile.for %t = %n to %n block block_0 kind tile parallel {\n"
    '      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>\n'
    "    }\n  }\n}\n"
)
NESTED_21 = (
    _KERNEL_HEAD
    + "".join(f"    tile.for %t{i} = %n to %n block block_{i} kind tile {{\n" for i in range(21))
    + "    }\n" * 21
    + _KERNEL_TAIL
)
UNKNOWN_FOR_KIND = (
    _KERNEL_HEAD + "    tile.for %t = %n to %n block block_0 kind spiral {\n    }\n" + _KERNEL_TAIL
)


# -- the corpus ----------------------------------------------------------------------------------------

x10 = lambda: g(10)  # noqa: E731


def _int64_emitted(x: torch.Tensor) -> bool:
    spec = specialize(["x", "y"], {"x": x, "y": x}, False)
    return spec.int64_indexing and ".to(tl.int64)" in K.add.to_triton_code(x, x)


def _broken_run(kernel: kc.Kernel, method: str, error: Exception) -> Any:
    """Run ``kernel`` with the tracer's ``method`` raising ``error`` (a stand-in for a bug)."""
    from kcompiler.frontend.tracer import DeviceTracer

    kernel.clear_caches(traces=True)  # trace afresh
    with mock.patch.object(DeviceTracer, method, side_effect=error):
        return kernel(g(8))


def _broken_compile(kernel: kc.Kernel, error: Exception) -> Any:
    """Run ``kernel`` with the compile driver raising ``error``."""
    from kcompiler.compiler import driver

    kernel.clear_caches(variants=True)
    with mock.patch.object(driver, "compile_loop", side_effect=error):
        return kernel(g(8))


def _expanded_out() -> torch.Tensor:
    out = torch.zeros(1).expand(10)
    return K.add_into(g(10), out)


def _overlapping_out() -> torch.Tensor:
    out = torch.zeros(6).as_strided((10,), (0,))
    return K.add_into(g(10), out)


def _strided_out() -> torch.Tensor:
    out = torch.zeros(10, 2)[:, 1]
    return K.add_into(g(10), out)


CASES = [
    # ---- wrong dtype ----------------------------------------------------------------------------
    Case("dtype-complex64", lambda: K.add(g(8).to(torch.complex64), g(8).to(torch.complex64)),
         Raises((kc.exc.CompileError,), "add-body", "'x'.*complex64")),
    Case("dtype-uint32", lambda: K.add(g(8).to(torch.uint32), g(8).to(torch.uint32)),
         Raises((kc.exc.CompileError,), "add-body", "uint32")),
    Case("dtype-list-for-tensor", lambda: K.device_list_argument([1.0] * 10, g(10), 10),
         Raises((kc.exc.CompileError,), "list-arg")),
    Case("dtype-numpy-for-tensor",
         lambda: K.device_list_argument(np.ones(10, dtype=np.float32), g(10), 10),
         Raises((kc.exc.InvalidArgument,), "list-arg", r"'x'.*torch\.from_numpy")),
    Case("dtype-numpy-argument-used-by-host-code", lambda: K.add(np.ones(8, dtype=np.float32), g(8)),
         Raises((kc.exc.InvalidArgument,), "add-def", r"'x' is a numpy array.*torch\.Tensor")),
    Case("dtype-numpy-argument-to-code", lambda: K.add.to_triton_code(g(8), np.ones(8)),
         Raises((kc.exc.InvalidArgument,), "add-body", r"'y' is a numpy array.*torch\.from_numpy")),
    Case("dtype-float64-runs", lambda: K.add(g(9, dtype=torch.float64), g(9, dtype=torch.float64)),
         Matches(lambda: 2 * g(9, dtype=torch.float64))),
    Case("dtype-f16-plus-f32-promotes", lambda: K.add_n(g(10, dtype=torch.float16), g(10), 10),
         Matches(lambda: g(10, dtype=torch.float16) + g(10))),
    Case("dtype-int8-wraps-as-torch",
         lambda: K.add(torch.full((10,), 100, dtype=torch.int8), torch.full((10,), 100, dtype=torch.int8)),
         Matches(lambda: torch.full((10,), 100, dtype=torch.int8) * 2, exact=True)),
    Case("dtype-bool-plus-bool",
         lambda: K.bool_add(torch.tensor([True, True, False, False]), torch.tensor([True, False, True, False])),
         Matches(lambda: torch.tensor([True, True, True, False]), exact=True)),
    # ---- wrong device -----------------------------------------------------------------------------
    Case("device-meta-and-cpu", lambda: K.add(torch.empty(10, device="meta"), g(10)),
         Raises((kc.exc.InvalidArgument,), None, "several devices")),
    Case("device-meta", lambda: K.add(torch.empty(10, device="meta"), torch.empty(10, device="meta")),
         Raises((kc.exc.InvalidArgument,), None, "'x'.*meta")),
    Case("device-cuda-under-interpreter", lambda: K.add(g(4).cuda(), g(4).cuda()),
         Raises((kc.exc.InvalidArgument,), None, "'x'"),
         skip=None if interpreting() and torch.cuda.is_available() else "needs CUDA and TRITON_INTERPRET=1"),
    Case("device-cpu-on-gpu", lambda: K.add(g(4), g(4)),
         Raises((kc.exc.InvalidArgument,), None, "'x'.*CPU"),
         skip=None if not interpreting() else "needs a GPU (not interpreting)"),
    # ---- wrong rank -------------------------------------------------------------------------------
    Case("rank-1d-into-2d-host-unpack", lambda: K.add2d(g(6), g(6)), HostRaises(ValueError, "unpack-2d")),
    Case("rank-2d-into-1d-host-unpack", lambda: K.add(g(3, 4), g(3, 4)), HostRaises(ValueError, "unpack-1d")),
    Case("rank-3d-rows-into-1d-store", lambda: K.rows_to_1d(g(2, 3, 4)),
         Raises((kc.exc.ShapeMismatch,), "rows-to-1d")),
    Case("rank-2d-rows-into-1d-store", lambda: K.rows_to_1d(g(4, 5)),
         Raises((kc.exc.ShapeMismatch,), "rows-to-1d")),
    # ---- mismatched sizes -------------------------------------------------------------------------
    Case("sizes-matmul-inner-dims", lambda: K.matmul(g(16, 8), g(4, 16)),
         Raises((kc.exc.ShapeMismatch,), "matmul-body", "inner dims")),
    # A tile over x's rows reads a prefix of a longer y, as y[tm, tn] slicing does in torch.
    Case("sizes-longer-y-2d-rows", lambda: K.add2d(g(4, 5), g(6, 5)),
         Matches(lambda: g(4, 5) + g(6, 5)[:4])),
    Case("sizes-size1-y-rows", lambda: K.add2d(g(6, 5), torch.ones(1, 5)),
         Matches(lambda: g(6, 5) + 1)),
    Case("sizes-size1-y-cols", lambda: K.add2d(g(6, 5), torch.ones(6, 1)),
         Matches(lambda: g(6, 5) + 1)),
    Case("sizes-output-shorter-than-loop", lambda: K.copy_short_out(g(10)),
         Raises((kc.exc.ShapeMismatch,), None, "out")),
    Case("sizes-n-larger-than-tensors", lambda: K.add_n(g(6), g(6), 9),
         Raises((kc.exc.ShapeMismatch,), None)),
    # ---- computed indices out of range: IndexOutOfBounds at the line, nothing touched outside ------
    Case("index-gather-past-end", lambda: K.take(g(10), torch.tensor([0, 10, 3])),
         Raises((kc.exc.IndexOutOfBounds,), "gather", r"index 10 .*'x' \(size 10, valid range \[0, 9\]\)")),
    Case("index-gather-negative", lambda: K.take(g(10), torch.tensor([0, -1, 3])),
         Raises((kc.exc.IndexOutOfBounds,), "gather", r"index -1 ")),
    Case("index-gather-int32-indices", lambda: K.take(g(10), torch.tensor([2, 12], dtype=torch.int32)),
         Raises((kc.exc.IndexOutOfBounds,), "gather", r"index 12 ")),
    Case("index-flat-load-past-end", lambda: K.take_flat(g(10), torch.tensor([0, 4, 5])),
         Raises((kc.exc.IndexOutOfBounds,), "flat-load", r"index 11 .*'x'")),
    Case("index-scatter-past-end", lambda: K.put(g(3), torch.tensor([1, 10, 2]), torch.zeros(10)),
         Raises((kc.exc.IndexOutOfBounds,), "put", r"index 10 .*'out'.*write")),
    Case("index-paired-matches-torch", lambda: K.pick(g(5, 6), torch.tensor([4, 0, 2]), torch.tensor([5, 1, 0])),
         Matches(lambda: g(5, 6)[torch.tensor([4, 0, 2]), torch.tensor([5, 1, 0])], exact=True)),
    Case("index-paired-column-past-end", lambda: K.pick(g(5, 6), torch.tensor([4, 0, 2]), torch.tensor([5, 6, 0])),
         Raises((kc.exc.IndexOutOfBounds,), "pick", r"dim 1 of 'x' \(size 6")),
    Case("index-valid-gather-matches-torch", lambda: K.take(g(10), torch.tensor([9, 0, 3, 3])),
         Matches(lambda: g(10)[torch.tensor([9, 0, 3, 3])], exact=True)),
    # ---- shapes: reshapes that split a dim, bounded slices, index runs, new blocks ------------------
    Case("reshape-split-matches-torch", lambda: K.halves(g(5, 16)),
         Matches(lambda: torch.cat([g(5, 16)[:, 8:], g(5, 16)[:, :8]], 1), exact=True)),
    Case("reshape-split-of-padded-size", lambda: K.halves(g(5, 12)),
         Raises((kc.exc.ShapeMismatch,), "halves", r"cannot reshape .*dim s\d+ is not a power of two")),
    Case("cat-of-unequal-widths-matches-torch", lambda: K.cat_unequal(g(5, 16), g(5, 32)),
         Matches(lambda: torch.cat([g(5, 16), g(5, 32)], 1), exact=True)),
    Case("cat-along-a-tile-block", lambda: K.cat_of_tiles(g(7)),
         Raises((kc.exc.ShapeMismatch,), "cat-of-tiles", r"torch.cat along a dim of size block_\d+: it must be a size known")),
    Case("slice-of-run-time-width", lambda: K.tail_from(g(5, 9), 3),
         Matches(lambda: g(5, 9)[:, 3:].sum(-1))),
    Case("slice-of-unknown-width", lambda: K.tail_from_loaded(g(5, 9), torch.full((5,), 3)),
         Raises((kc.exc.UnsupportedConstruct,), "tail-from-loaded", r"width of this slice of 'x' is neither known")),
    Case("slice-past-the-end", lambda: K.head4(g(5, 4)),
         Raises((kc.exc.ShapeMismatch,), "head4", r"runs to position 4 of dim 1, whose size is 4")),
    Case("slice-inside-matches-torch", lambda: K.head4(g(5, 7)), Matches(lambda: g(5, 7)[:, 1:5], exact=True)),
    Case("index-run-past-end", lambda: K.rows_from(g(3, 6), 3),
         Raises((kc.exc.IndexOutOfBounds,), "rows-from", r"index 6 .*dim 1 of 'x' \(size 6")),
    Case("new-zeros-float-shape", lambda: K.new_block_bad_shape(g(5)),
         Raises((kc.exc.UnsupportedConstruct,), "new-zeros", r"1.5 is not a valid shape entry")),
    # ---- zero-size and size-1 dims: correct results -------------------------------------------------
    Case("zero-1d", lambda: K.add(torch.empty(0), torch.empty(0)), Matches(lambda: torch.empty(0))),
    Case("zero-rows-2d", lambda: K.add2d(torch.ones(0, 3), torch.ones(0, 3)), Matches(lambda: torch.ones(0, 3))),
    Case("zero-cols-2d", lambda: K.add2d(torch.ones(3, 0), torch.ones(3, 0)), Matches(lambda: torch.ones(3, 0))),
    Case("zero-reduced-dim-sum", lambda: K.row_sum(torch.empty(5, 0)), Matches(lambda: torch.zeros(5))),
    Case("zero-reduced-dim-mean-nan", lambda: K.row_mean(torch.empty(3, 0)), Matches(lambda: torch.full((3,), float("nan")))),
    Case("zero-rows-softmax", lambda: K.softmax(torch.empty(0, 7)), Matches(lambda: torch.empty(0, 7))),
    Case("zero-cols-softmax", lambda: K.softmax(torch.empty(4, 0)), Matches(lambda: torch.empty(4, 0))),
    Case("one-by-one", lambda: K.add2d(torch.full((1, 1), 3.0), torch.full((1, 1), 4.0)), Matches(lambda: torch.full((1, 1), 7.0))),
    Case("one-col-softmax", lambda: K.softmax(g(5, 1)), Matches(lambda: torch.ones(5, 1))),
    Case("one-row-max", lambda: K.row_max(g(1, 37)), Matches(lambda: g(1, 37).amax(-1))),
    Case("one-col-2d-add", lambda: K.add2d(g(7, 1), g(7, 1, seed=1)), Matches(lambda: g(7, 1) + g(7, 1, seed=1))),
    # ---- strides: non-contiguous and overlapping --------------------------------------------------
    Case("strides-transposed", lambda: K.add2d(g(6, 5).t(), g(6, 5, seed=1).t()),
         Matches(lambda: (g(6, 5) + g(6, 5, seed=1)).t())),
    Case("strides-expanded-input", lambda: K.add2d(g(5).expand(6, 5), g(6, 5)),
         Matches(lambda: g(5).expand(6, 5) + g(6, 5))),
    Case("strides-as-strided-overlapping-input", lambda: K.add(g(3).as_strided((10,), (0,)), g(10)),
         Matches(lambda: g(3)[0] + g(10))),
    Case("strides-column-slice-softmax", lambda: K.softmax(g(6, 20)[:, ::3]),
         Matches(lambda: torch.softmax(g(6, 20)[:, ::3], 1))),
    Case("strides-storage-offset-unaligned", lambda: K.add(g(11)[1:], g(11)[1:]),
         Matches(lambda: 2 * g(11)[1:])),
    Case("strides-bundled-softmax-transposed", lambda: bundled_softmax(g(40, 3).t()),
         Matches(lambda: torch.softmax(g(40, 3).t(), 1))),
    Case("strides-strided-output", _strided_out, Matches(lambda: g(10) + 1.0)),
    Case("strides-expanded-output", _expanded_out,
         Raises((kc.exc.InvalidArgument,), None, "out")),
    Case("strides-as-strided-overlapping-output", _overlapping_out,
         Raises((kc.exc.InvalidArgument,), None, "out")),
    # ---- > 2**31 elements: 64-bit indexing is specialized and emitted ----------------------------
    Case("int64-huge-stride", lambda: _int64_emitted(torch.empty(4, device="meta").as_strided((2,), (2**31,))), Holds()),
    Case("int64-huge-numel", lambda: _int64_emitted(torch.empty(2**31 + 5, dtype=torch.int8, device="meta")), Holds()),
    Case("int64-not-for-small", lambda: not _int64_emitted(g(10)), Holds()),
    # ---- Python with no meaning in device code -------------------------------------------------------
    Case("python-global", lambda: K.uses_global(g(8)), Raises((kc.exc.UnsupportedConstruct,), "global", "`global`")),
    Case("python-nonlocal", lambda: K.make_uses_nonlocal()(g(8)), Raises((kc.exc.UnsupportedConstruct,), "nonlocal", "`nonlocal`")),
    Case("python-yield", lambda: K.uses_yield(g(8)), Raises((kc.exc.UnsupportedConstruct,), "yield")),
    Case("python-del", lambda: K.uses_del(g(8)), Raises((kc.exc.UnsupportedConstruct,), "del", "`del`")),
    Case("python-match", lambda: K.uses_match(g(8)), Raises((kc.exc.UnsupportedConstruct,), "match", "`match`")),
    Case("python-nested-def", lambda: K.uses_nested_def(g(8)), Raises((kc.exc.UnsupportedConstruct,), "def", "nested `def`")),
    Case("python-raise", lambda: K.uses_raise(g(8)), Raises((kc.exc.UnsupportedConstruct,), "raise", "`raise`")),
    Case("python-import", lambda: K.uses_import(g(8)), Raises((kc.exc.UnsupportedConstruct,), "import", "`import`")),
    Case("python-continue", lambda: K.uses_continue(g(8)), Raises((kc.exc.UnsupportedConstruct,), "continue", "`continue`")),
    Case("python-class", lambda: K.uses_class(g(8)), Raises((kc.exc.UnsupportedConstruct,), "class", "`class`")),
    Case("python-assert-device-value", lambda: K.asserts_device_value(g(8)), Raises((kc.exc.UnsupportedConstruct,), "assert-device")),
    Case("python-item", lambda: K.uses_item(g(8)), Raises((kc.exc.CompileError,), "item", "item")),
    Case("python-int-of-device-value", lambda: K.int_of_device_value(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "int-of-device")),
    # Comprehensions and generator expressions over Python values unroll, as a `for` over a
    # range does; iterating a device value is an error at its line.
    Case("python-list-comprehension-runs", lambda: K.list_comprehension(g(8)), Matches(lambda: g(8))),
    Case("python-generator-expression-runs", lambda: K.generator_sum(g(8)), Matches(lambda: 3 * g(8))),
    Case("python-iterate-device-value", lambda: K.iterates_a_device_value(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "iterate-device-value", "iterate")),
    Case("python-kernel-calls-itself", lambda: K.calls_itself(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "self-call", r"calls_itself\(\.\.\.\) calls a @kc\.kernel")),
    Case("python-kernel-calls-another-kernel", lambda: K.calls_another_kernel(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "kernel-call", r"add\(\.\.\.\) calls a @kc\.kernel")),
    # print in device code is a device print (tests/frontend/test_device_print.py); one that
    # cannot be (keyword arguments) is an error at its line.
    Case("python-print-is-a-device-print", lambda: K.device_prints(g(8)), Matches(lambda: 2 * g(8))),
    Case("python-print-with-keywords", lambda: K.prints_in_device_code(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "print", r"print\(\.\.\., sep=\).*kl\.device_print")),
    Case("python-missing-attribute", lambda: K.missing_attribute(g(8)),
         Raises((kc.exc.CompileError,), "missing-attribute", "a device value has no attribute 'no_such_method'")),
    Case("python-unpack-device-value", lambda: K.unpacks_a_device_value(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "unpack-device", r"cannot unpack a float32 device value into 2 names")),
    Case("python-helper-raises-is-located", lambda: K.helper_raises(g(8)),
         Raises((kc.exc.CompileError,), "helper-raises", "ValueError: the helper refuses")),
    # ---- loop bounds and block sizes -----------------------------------------------------------------
    Case("tile-host-int-block-size", lambda: K.host_int_block_size(g(8), 3),
         Raises((kc.exc.CompileError,), "host-int-block", r"block_size=bs is a host value .*\(here 3\).*kl\.constexpr")),
    Case("tile-host-int-block-size-pow2", lambda: K.host_int_block_size(g(8), 4),
         Raises((kc.exc.CompileError,), "host-int-block", r"block_size=bs .*register_block_size")),
    Case("tile-size-as-block-size", lambda: K.size_block_size(g(12)),
         Raises((kc.exc.CompileError,), "size-block", r"block_size=x\.size\(0\) .*\(here 12\)")),
    Case("tile-float-bound", lambda: K.float_tile_bound(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "float-bound", r"kl\.tile\(3\.5\): loop bounds must be integers.*float 3\.5")),
    Case("tile-tensor-bound", lambda: K.tensor_tile_bound(g(8)),
         Raises((kc.exc.UnsupportedConstruct,), "tensor-bound", r"the tensor 'x'.*x\.size\(0\)")),
    # ---- internal errors: wrapped, located, chained ------------------------------------------------
    Case("internal-error-while-tracing", lambda: _broken_run(K.ice_in_tracing, "finish", KeyError("block_0")),
         Raises((kc.exc.InternalCompilerError,), "ice-trace", "internal compiler error.*KeyError.*report", KeyError)),
    Case("internal-error-in-an-expression", lambda: _broken_run(K.ice_in_expression, "binary", AssertionError("x")),
         Raises((kc.exc.InternalCompilerError,), "ice-expression", "internal compiler error.*report", AssertionError)),
    Case("internal-error-while-compiling", lambda: _broken_compile(K.ice_in_compiling, IndexError("list index")),
         Raises((kc.exc.InternalCompilerError,), "ice-compile", "compiling kernel 'ice_in_compiling'.*report", IndexError)),
    Case("python-lambda-runs", lambda: K.scaled(g(8)), Matches(lambda: g(8) * 2.0)),
    Case("python-walrus-runs", lambda: K.walrus(g(8)), Matches(lambda: g(8) * g(8))),
    # ---- host code and device-loop variables -------------------------------------------------------
    Case("host-reads-device-value-after-loop", lambda: K.reads_device_value_after_loop(g(8)),
         Raises((kc.exc.CompileError,), "after-loop", "doubled")),
    Case("host-returns-the-tile", lambda: K.returns_the_tile(g(8)),
         Raises((kc.exc.CompileError,), "tile-after-loop", "tile")),
    Case("host-variable-assigned-in-device-loop", lambda: K.accumulates_into_host_variable(g(8)),
         Raises((kc.exc.CompileError,), "host-accumulate", "total")),
    # ---- malformed IR to kc-opt ---------------------------------------------------------------------
    Case("kc-opt-unknown-op", None, KcOpt(UNKNOWN_OP, match="tile.bogus")),
    Case("kc-opt-undefined-value", None, KcOpt(UNDEFINED_VALUE, match="nine")),
    Case("kc-opt-truncated", None, KcOpt(TRUNCATED)),
    Case("kc-opt-bad-type-syntax", None, KcOpt(BAD_TYPE, match="']' expected")),
    Case("kc-opt-garbage", None, KcOpt("garbage $$$ not mlir\n", subprocess=True)),
    Case("kc-opt-wrong-result-type", None, KcOpt(WRONG_RESULT_TYPE, match="does not match inferred")),
    Case("kc-opt-shape-inference-error", None,
         KcOpt(BAD_REDUCTION, ("-p", "shape-inference"), match="tile.reduce.*out of range")),
    Case("kc-opt-unknown-for-kind", None, KcOpt(UNKNOWN_FOR_KIND, match="spiral")),
    Case("kc-opt-unknown-pass", None, KcOpt(UNKNOWN_OP.replace("tile.bogus", "tile.size"), ("-p", "no-such-pass"), location=False, match="no-such-pass")),
    Case("kc-opt-binary-file", None, KcOpt(b"\xff\xfe\x00binary", subprocess=True, match="not UTF-8")),
    Case("kc-opt-block-size-not-power-of-two", None,
         KcOpt(TWO_LOADS, ("-t", "triton{block-sizes=3}"), location=False, match="block-sizes.*powers of two")),
    Case("kc-opt-num-warps-not-power-of-two", None,
         KcOpt(TWO_LOADS, ("-t", "triton{num-warps=3}"), location=False, match="num-warps=3.*1, 2, 4, 8, 16, 32")),
    Case("kc-opt-num-warps-negative", None,
         KcOpt(TWO_LOADS, ("-t", "triton{num-warps=-8}"), location=False, match="num-warps=-8")),
    Case("kc-opt-block-sizes-not-integers", None,
         KcOpt(TWO_LOADS, ("-t", "triton{block-sizes=1.5}"), location=False, match="'block-sizes' takes .* integers")),
    Case("kc-opt-too-many-block-sizes", None,
         KcOpt(TWO_LOADS, ("-p", "shape-inference", "-t", "triton{block-sizes=16,16}"), match="block-sizes has 2 values.*1 block symbol")),
    Case("kc-opt-block-numel-over-triton-max", None,
         KcOpt(TWO_LOADS, ("-p", "shape-inference", "-t", "triton{block-sizes=1048576}"), match="tile.load.*over Triton's maximum")),
    Case("kc-opt-unknown-pass-option", None,
         KcOpt(TWO_LOADS, ("-p", "split-reductions{chunks=8}"), location=False, match="did you mean 'chunk'")),
    Case("kc-opt-loops-nested-past-python", None,
         KcOpt(NESTED_21, ("-t", "triton"), match="21 nested tile.for loops.*at most 20")),
    # ---- Configs outside the space ----------------------------------------------------------------------
    Case("config-block-not-power-of-two", lambda: K.add.bind(g(8), g(8)).run(C(block_sizes=[12])),
         Raises((kc.exc.InvalidConfig,), None, r"block_sizes\[0\]")),
    Case("config-block-not-int", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(block_sizes=[4, "8"])),
         Raises((kc.exc.InvalidConfig,), None, r"block_sizes\[1\]")),
    Case("config-unknown-field", lambda: C(num_warp=4),
         Raises((kc.exc.UnknownOption, TypeError), None, r"'num_warp' \(did you mean 'num_warps'\?\)")),
    Case("config-unknown-field-in-decorator", lambda: kc.kernel(config={"block_sizs": [4]})(K.add.fn),
         Raises((kc.exc.UnknownOption,), None, r"'block_sizs' \(did you mean 'block_sizes'\?\)")),
    Case("config-singular-and-plural", lambda: C(block_size=4, block_sizes=[4]),
         Raises((kc.exc.InvalidConfig,), None, "both block_size and block_sizes")),
    Case("config-reduction-loop-not-power-of-two", lambda: bundled_softmax.bind(g(4, 600)).run(C(reduction_loops=[96])),
         Raises((kc.exc.InvalidConfig,), None, "reduction_loops")),
    Case("config-reduction-loop-negative", lambda: bundled_softmax.bind(g(4, 600)).run(C(reduction_loops=[-256])),
         Raises((kc.exc.InvalidConfig,), None, "reduction_loops")),
    Case("config-reduction-loops-not-a-list", lambda: bundled_softmax.bind(g(4, 600)).run(C(reduction_loops=256)),
         Raises((kc.exc.InvalidConfig, TypeError), None, "reduction_loops")),
    Case("config-block-sizes-not-a-list", lambda: K.add.bind(g(8), g(8)).run(C(block_sizes=16)),
         Raises((kc.exc.InvalidConfig, TypeError), None, "block_sizes")),
    Case("config-pid-type-unknown", lambda: K.add.bind(g(8), g(8)).run(C(pid_type="spiral")),
         Raises((kc.exc.InvalidConfig,), None, "pid_type")),
    Case("config-block-numel-over-triton-max", lambda: K.add.bind(g(8), g(8)).run(C(block_sizes=[2**21])),
         Raises((kc.exc.InvalidConfig,), None, "block_sizes")),
    Case("config-num-stages-zero", lambda: K.add.bind(g(8), g(8)).run(C(num_stages=0)),
         Raises((kc.exc.InvalidConfig,), None, "num_stages")),
    # Every knob of kc.Config is emitted or refused, never ignored (issue 20).
    Case("config-eviction-policy-unknown", lambda: K.add.bind(g(8), g(8)).run(C(load_eviction_policies=["bogus"])),
         Raises((kc.exc.InvalidConfig,), None, r"load_eviction_policies\[0\] = 'bogus'.*'', 'first', 'last'")),
    # Helion's example configs number accesses their own way (rolled reduction copies too):
    # a longer list of different modes that is not of Helion's length for the kernel is
    # refused with the kernel's own accesses listed (tests/backends/test_indexing_modes.py:
    # one repeated mode applies; tests/passes/test_helion_indexing.py: Helion's length).
    Case("config-indexing-more-than-accesses", lambda: K.add.bind(g(8), g(8)).run(C(indexing=["pointer"] * 4 + ["tensor_descriptor"] * 2)),
         Raises((kc.exc.InvalidConfig,), None, r"indexing has 6 entries .* 3 loads/stores \(load x \(bad_input_kernels.py:\d+\), load y .*store out .*one mode per load/store")),
    Case("config-indexing-not-helions-length", lambda: K.softmax.bind(g(5, 300)).run(C(indexing=["pointer", "pointer", "tensor_descriptor", "tensor_descriptor", "pointer"], reduction_loops=[64])),
         Raises((kc.exc.InvalidConfig,), "softmax-body", r"indexing has 5 entries .* 2 loads/stores .*Helion's numbering, which adds the loads/stores of its rolled reduction loops, has 6")),
    Case("config-eviction-policies-more-than-loads", lambda: K.add.bind(g(8), g(8)).run(C(load_eviction_policies=["", "", "last"])),
         Raises((kc.exc.InvalidConfig,), None, r"load_eviction_policies .*3 entries.*2 loads")),
    Case("config-eviction-policy-on-tensor-descriptor",
         lambda: K.add2d.bind(g(32, 32), g(32, 32)).run(C(block_sizes=[16, 16], indexing="tensor_descriptor", load_eviction_policies=["first"])),
         Raises((kc.exc.InvalidConfig,), None, r"load_eviction_policies: 'first' on the load of 'x'.*tensor_descriptor")),
    Case("config-maxnreg-negative", lambda: K.add.bind(g(8), g(8)).run(C(maxnreg=-1)),
         Raises((kc.exc.InvalidConfig,), None, r"maxnreg = -1: must be None or one of 32, 64, 128, 256")),
    Case("config-maxnreg-not-a-cap", lambda: K.add.bind(g(8), g(8)).run(C(maxnreg=100)),
         Raises((kc.exc.InvalidConfig,), None, r"maxnreg = 100")),
    Case("config-l2-grouping-zero", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(l2_groupings=[0])),
         Raises((kc.exc.InvalidConfig,), None, r"l2_groupings\[0\] = 0: must be an int >= 1")),
    Case("config-l2-groupings-two-entries", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(l2_groupings=[2, 2])),
         Raises((kc.exc.InvalidConfig,), None, r"l2_groupings = \[2, 2\]: one entry")),
    Case("config-loop-orders-not-supported", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(loop_orders=[[1, 0]])),
         Raises((kc.exc.InvalidConfig,), None, r"loop_orders\[0\] = \[1, 0\]: not supported yet: loop_orders")),
    Case("config-loop-orders-not-a-permutation", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(loop_orders=[[0, 2]])),
         Raises((kc.exc.InvalidConfig,), None, r"loop_orders\[0\] = \[0, 2\]: must be a permutation")),
    Case("config-flatten-loops-not-supported", lambda: K.add2d.bind(g(4, 4), g(4, 4)).run(C(flatten_loops=[True])),
         Raises((kc.exc.InvalidConfig,), None, r"flatten_loops\[0\] = True: not supported yet: flatten_loops")),
    Case("config-static-ranges-not-supported", lambda: K.row_sum.bind(g(4, 4)).run(C(static_ranges=[True])),
         Raises((kc.exc.InvalidConfig,), None, r"static_ranges\[0\] = True: not supported yet: static_ranges")),
    Case("config-num-warps-over-32", lambda: K.add.bind(g(8), g(8)).run(C(num_warps=64)),
         Raises((kc.exc.InvalidConfig,), None, r"num_warps = 64: must be a power of two in \[1, 32\]")),
    Case("config-num-sm-multiplier-zero", lambda: K.add.bind(g(8), g(8)).run(C(num_sm_multiplier=0)),
         Raises((kc.exc.InvalidConfig,), None, r"num_sm_multiplier = 0: must be an int >= 1")),
    Case("config-range-entry-of-no-loop-checked", lambda: K.add.bind(g(8), g(8)).run(C(range_num_stages=[0, -1])),
         Raises((kc.exc.InvalidConfig,), None, r"range_num_stages\[1\] = -1")),
    Case("config-block-size-bool", lambda: K.add.bind(g(8), g(8)).run(C(block_sizes=[True])),
         Raises((kc.exc.InvalidConfig,), None, r"block_sizes\[0\] = True")),
    Case("config-eviction-policies-run", lambda: K.add.bind(g(8), g(8, seed=1)).run(C(load_eviction_policies=["first", "last"], maxnreg=64)),
         Matches(lambda: g(8) + g(8, seed=1))),
    # ---- kc.kernel options --------------------------------------------------------------------------
    Case("option-misspelt-autotune-effort", lambda: kc.kernel(autotune_efort="quick")(K.add.fn),
         Raises((kc.exc.UnknownOption, TypeError), None, r"'autotune_efort' \(did you mean 'autotune_effort'\?\)")),
    Case("option-misspelt-config", lambda: kc.kernel(confgi=C())(K.add.fn),
         Raises((kc.exc.UnknownOption,), None, r"'confgi' \(did you mean 'config'\?\); valid: config, configs")),
    Case("option-autotune-effort-value", lambda: kc.kernel(autotune_effort="quik")(K.add.fn),
         Raises((kc.exc.UnknownOption,), None, r"autotune_effort 'quik' \(did you mean 'quick'\?\); valid: none, quick, full")),
    Case("option-autotune-strategy-value", lambda: kc.kernel(autotune_strategy="patern")(K.add.fn),
         Raises((kc.exc.UnknownOption,), None, r"autotune_strategy 'patern' \(did you mean 'pattern'\?\)")),
    Case("option-float-inputs-names-no-parameter", lambda: kc.kernel(float_inputs=["y"])(bundled_softmax.fn),
         Raises((kc.exc.UnknownOption,), None, r"unknown parameter of softmax in float_inputs 'y'; valid: x")),
    Case("option-autotune-call-misspelt", lambda: K.add.autotune((g(8), g(8)), efort="quick"),
         Raises((kc.exc.UnknownOption,), None, r"autotune option 'efort' \(did you mean 'effort'\?\); valid: effort, strategy")),
    Case("option-unknown-lists-valid", lambda: kc.Kernel(K.add.fn, bogus_flag=True),
         Raises((kc.exc.UnknownOption,), None, r"'bogus_flag'; valid: .*static_shapes.*custom_op")),
    # ---- integer and bool inputs to float-only kernels: raise as torch does -----------------------------
    Case("float-only-bundled-softmax-int64", lambda: bundled_softmax(torch.arange(12).reshape(3, 4)),
         Raises((kc.exc.InvalidArgument,), None, r"softmax: argument 'x' has dtype torch.int64")),
    Case("float-only-after-a-float-call",  # the fast path of the float call is not taken
         lambda: [bundled_softmax(g(3, 4)) for _ in range(3)] and bundled_softmax(torch.ones(3, 4, dtype=torch.int64)),
         Raises((kc.exc.InvalidArgument,), None, r"softmax: argument 'x' has dtype torch.int64")),
    Case("float-only-bundled-softmax-bool", lambda: bundled_softmax(torch.ones(3, 4, dtype=torch.bool)),
         Raises((kc.exc.InvalidArgument,), None, r"argument 'x' has dtype torch.bool")),
    Case("float-only-softmax-two-pass", lambda: SM.softmax_two_pass(torch.ones(3, 4, dtype=torch.int32)),
         Raises((kc.exc.InvalidArgument,), None, r"softmax_two_pass: argument 'x' has dtype torch.int32")),
    Case("float-only-softmax-decomposed", lambda: SM.softmax_decomposed(torch.ones(3, 4, dtype=torch.int8)),
         Raises((kc.exc.InvalidArgument,), None, r"softmax_decomposed: argument 'x' has dtype torch.int8")),
    Case("float-only-rms-norm", lambda: rms_norm(torch.ones(3, 4, dtype=torch.int64), torch.ones(4)),
         Raises((kc.exc.InvalidArgument,), None, r"rms_norm_fwd: argument 'x' has dtype torch.int64")),
    Case("float-only-layer-norm", lambda: layer_norm(torch.ones(3, 4, dtype=torch.int64), [4], torch.ones(4)),
         Raises((kc.exc.InvalidArgument,), None, r"layer_norm_fwd: argument 'x' has dtype torch.int64")),
    Case("float-only-cross-entropy-logits",
         lambda: cross_entropy(torch.ones(3, 4, dtype=torch.int64), torch.zeros(3, dtype=torch.int64)),
         Raises((kc.exc.InvalidArgument,), None, r"cross_entropy: argument 'logits' has dtype torch.int64")),
    Case("float-only-jagged-mean", lambda: jagged_mean(torch.ones(3, 4, dtype=torch.int64), torch.tensor([0, 1, 3])),
         Raises((kc.exc.InvalidArgument,), None, r"jagged_mean: argument 'values' has dtype torch.int64")),
    Case("float-only-attention-key",
         lambda: attention(g(1, 1, 4, 16), torch.ones(1, 1, 4, 16, dtype=torch.int32), g(1, 1, 4, 16)),
         Raises((kc.exc.InvalidArgument,), None, r"attention: argument 'k' has dtype torch.int32")),
    Case("int-input-bundled-exp-promotes", lambda: vector_exp(torch.arange(-3, 9)),
         Matches(lambda: torch.exp(torch.arange(-3, 9)))),
    Case("float-only-softmax-in-user-kernel", lambda: K.softmax(torch.arange(12).reshape(3, 4)),
         Raises((kc.exc.CompileError,), "softmax-body", r"softmax of a torch.int64 value")),
    Case("float-only-softmax-dtype-casts-first", lambda: K.softmax_in_float32(torch.arange(12).reshape(3, 4)),
         Matches(lambda: torch.softmax(torch.arange(12).reshape(3, 4), 1, dtype=torch.float32))),
    Case("config-space-rejects-odd-block", lambda: not K.add.config_space(g(8), g(8)).is_valid(C(block_sizes=[3])), Holds()),
]  # fmt: skip


def test_the_corpus_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if isinstance(case.expect, KcOpt):
        case.expect.check(tmp_path, capsys)
    else:
        assert case.run is not None
        case.expect.check(case.run)
