"""Bad kernels and bad inputs fail early, with a kcompiler error naming the kernel's line.

Each kernel below marks its offending line with ``# <- error``; the test computes that line
with ``inspect`` and requires a ``kc.exc.CompileError`` (or the named subclass) whose message
holds ``test_bad_input.py:<line>``, raised before Triton sees anything (no Triton frame in the
traceback). Calling the language outside a kernel raises ``NotInKernel``; a config outside
the space raises ``InvalidConfig`` naming the knob.
"""

from __future__ import annotations

import inspect
import os
import re
import traceback

import pytest
import torch
import triton

import kcompiler as kc
import kcompiler.language as kl

THIS_FILE = os.path.basename(__file__)
TRITON_DIR = os.path.dirname(triton.__file__)
MARK = "# <- error"


def error_line(kernel: kc.Kernel) -> int:
    """The absolute line number of the kernel's line marked ``# <- error``."""
    lines, start = inspect.getsourcelines(kernel.fn)
    hits = [start + i for i, line in enumerate(lines) if MARK in line]
    assert len(hits) == 1, f"{kernel.__name__} must mark exactly one line"
    return hits[0]


def _exception_chain(e: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return chain


def assert_raises_at_line(
    kernel: kc.Kernel, exc_type: type[Exception], *args: object, match: str | None = None
) -> kc.exc.CompileError:
    """``kernel(*args)`` and ``kernel.to_triton_code(*args)`` raise ``exc_type`` at the mark."""
    line = error_line(kernel)
    for run in (kernel, kernel.to_triton_code):
        with pytest.raises(exc_type) as info:
            run(*args)
        e = info.value
        assert isinstance(e, kc.exc.CompileError), f"{type(e).__name__} is not a CompileError"
        message = str(e)
        assert re.search(rf"{re.escape(THIS_FILE)}:{line}\b", message), (
            f"expected {THIS_FILE}:{line} in the message, got: {message}"
        )
        if match is not None:
            assert re.search(match, message), message
        for err in _exception_chain(e):
            frames = traceback.extract_tb(err.__traceback__)
            inside = [f.filename for f in frames if f.filename.startswith(TRITON_DIR)]
            assert not inside, f"raised from inside Triton: {inside}"
    return e


# -- unsupported Python in device code -------------------------------------------------------------


@kc.kernel
def uses_while(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        while False:  # <- error
            v = v + 1.0
        out[tile] = v
    return out


@kc.kernel
def uses_try(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        try:  # <- error
            out[tile] = x[tile]
        except Exception:
            pass
    return out


@kc.kernel
def uses_with(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        with torch.no_grad():  # <- error
            out[tile] = x[tile]
    return out


@kc.kernel
def uses_return(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
        return out  # <- error
    return out


@kc.kernel
def uses_break(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
        break  # <- error
    return out


@kc.kernel
def data_dependent_if(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        if v > 0:  # <- error (a block: an if on a scalar is supported)
            v = v * 2.0
        out[tile] = v
    return out


@kc.kernel
def inner_for_else(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m in kl.tile(m):
        for tile_n in kl.tile(n):  # <- error
            out[tile_m, tile_n] = x[tile_m, tile_n]
        else:
            pass
    return out


@kc.kernel
def device_loop_else(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):  # <- error
        out[tile] = x[tile]
    else:
        pass
    return out


@kc.kernel
def bounded_slice(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        # Bounded slices are supported; storing 2 columns into all 4 is what fails, as in torch.
        out[tile, :] = x[tile, 1:3]  # <- error
    return out


@kc.kernel
def undefined_name(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + not_defined_anywhere  # noqa: F821  # <- error
    return out


@kc.kernel
def missing_method(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile].no_such_method()  # <- error
    return out


@kc.kernel
def failing_device_assert(x: torch.Tensor, ok: bool) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        assert ok  # <- error
        out[tile] = x[tile]
    return out


@kc.kernel
def odd_literal_block(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=3):  # <- error
        out[tile] = x[tile]
    return out


UNSUPPORTED = [
    (uses_while, kc.exc.UnsupportedConstruct, "`while`"),
    (uses_try, kc.exc.UnsupportedConstruct, "`try`"),
    (uses_with, kc.exc.UnsupportedConstruct, "`with`"),
    (uses_return, kc.exc.UnsupportedConstruct, "`return`"),
    (uses_break, kc.exc.UnsupportedConstruct, "`break`"),
    (data_dependent_if, kc.exc.UnsupportedConstruct, "torch.where"),
    (inner_for_else, kc.exc.UnsupportedConstruct, "else"),
    (device_loop_else, kc.exc.CompileError, "else"),
    (bounded_slice, kc.exc.ShapeMismatch, "do not broadcast"),
    (undefined_name, kc.exc.CompileError, "not_defined_anywhere"),
    (missing_method, kc.exc.CompileError, "no_such_method"),
    (odd_literal_block, kc.exc.CompileError, "power of two"),
]


@pytest.mark.parametrize(
    "kernel,exc_type,match", UNSUPPORTED, ids=[k.__name__ for k, _, _ in UNSUPPORTED]
)
def test_unsupported_python_names_the_line(
    kernel: kc.Kernel, exc_type: type[Exception], match: str
) -> None:
    x = torch.randn(16, 4) if kernel in (inner_for_else, bounded_slice) else torch.randn(16)
    assert_raises_at_line(kernel, exc_type, x, match=match)


def test_failing_device_assert_names_the_line() -> None:
    assert_raises_at_line(failing_device_assert, kc.exc.CompileError, torch.randn(8), False)
    out = failing_device_assert(torch.ones(8), True)
    assert torch.equal(out, torch.ones(8))


@kc.kernel
def prints_a_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile] * 2.0
        print("printed", v)  # a device print: runs on every launch
        out[tile] = v
    return out


def test_print_in_device_code_prints_on_the_device(capsys: pytest.CaptureFixture[str]) -> None:
    x = torch.randn(10)
    assert torch.allclose(prints_a_value(x), x * 2.0)
    assert "printed" in capsys.readouterr().out
    prints_a_value(x)  # cached, and launched again: prints again
    assert "printed" in capsys.readouterr().out


# -- errors raised inside value proxies ------------------------------------------------------------

NO_LOCATION = (
    "errors raised by the value proxies (frontend/values.py: TileValue.__bool__/__index__/"
    "__invert__, __torch_function__'s unsupported-function error, torch.max(x, dim)) escape "
    "DeviceTracer.eval unchanged (`except CompileError: raise`), so the message has no "
    "file:line; eval should attach self.location when e.location is None"
)


@kc.kernel
def conditional_expression(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        out[tile] = v * 2.0 if v.sum() > 0 else v  # <- error
    return out


@kc.kernel
def boolean_operator(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        out[tile] = (v > 0) and (v < 1)  # <- error
    return out


@kc.kernel
def range_of_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        for _ in range(v.sum()):  # <- error
            v = v + 1.0
        out[tile] = v
    return out


@kc.kernel
def unsupported_torch_function(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = torch.fft.fft(x[tile]).real  # <- error
    return out


@kc.kernel
def torch_max_with_dim(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = torch.max(x[tile, :], dim=1)  # <- error
    return out


@kc.kernel
def invert_float(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = ~x[tile]  # <- error
    return out


PROXY_ERRORS = [
    (conditional_expression, torch.randn(16)),
    (boolean_operator, torch.randn(16)),
    (range_of_device_value, torch.randn(16)),
    (unsupported_torch_function, torch.randn(16)),
    (torch_max_with_dim, torch.randn(16, 4)),
    (invert_float, torch.randn(16)),
]


@pytest.mark.parametrize("kernel,x", PROXY_ERRORS, ids=[k.__name__ for k, _ in PROXY_ERRORS])
def test_errors_inside_expressions_name_the_line(kernel: kc.Kernel, x: torch.Tensor) -> None:
    assert_raises_at_line(kernel, kc.exc.UnsupportedConstruct, x)


@pytest.mark.parametrize("kernel,x", PROXY_ERRORS, ids=[k.__name__ for k, _ in PROXY_ERRORS])
def test_errors_inside_expressions_are_unsupported_construct(
    kernel: kc.Kernel, x: torch.Tensor
) -> None:
    """The part that works today: the right error type, before Triton."""
    with pytest.raises(kc.exc.UnsupportedConstruct):
        kernel(x)


@kc.kernel
def product_reduction(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = torch.prod(x[tile, :], dim=1)  # <- error
    return out


def test_unsupported_reduction_names_the_line() -> None:
    assert_raises_at_line(product_reduction, kc.exc.CompileError, torch.randn(8, 5))


# -- wrong dtypes, ranks and shapes ------------------------------------------------------------------


@kc.kernel
def exp_kernel(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = torch.exp(x[tile])
    return out


@kc.kernel
def exp_of_first_use(x: torch.Tensor) -> torch.Tensor:
    n = x.size(0)
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        out[tile] = torch.exp(x[tile])  # <- error
    return out


def test_unsupported_dtype_names_the_line() -> None:
    """The error points at the device line that first reads the tensor."""
    e = assert_raises_at_line(
        exp_of_first_use, kc.exc.CompileError, torch.randn(8, dtype=torch.complex64)
    )
    assert "complex64" in str(e)


@kc.kernel
def row_mean(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=torch.float32, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, :].mean(-1)  # <- error
    return out


def test_int_input_where_float_is_needed() -> None:
    e = assert_raises_at_line(row_mean, kc.exc.ShapeMismatch, torch.randint(0, 5, (4, 6)))
    assert "int64" in str(e)
    # The same kernel on floats is fine.
    x = torch.randn(4, 6)
    torch.testing.assert_close(row_mean(x), x.mean(-1))


@kc.kernel
def float_index(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = kl.load(x, [idx[tile]])  # <- error
    return out


def test_float_index_tensor() -> None:
    assert_raises_at_line(float_index, kc.exc.ShapeMismatch, torch.randn(8), torch.randn(4))


@kc.kernel
def two_indices(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, tile]  # <- error
    return out


def test_too_many_indices_for_the_rank() -> None:
    e = assert_raises_at_line(two_indices, kc.exc.ShapeMismatch, torch.randn(8))
    assert "rank 1" in str(e)


@kc.kernel
def scale_rows(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        out[tile, :] = x[tile, :] * w[:]  # <- error
    return out


@pytest.mark.parametrize(
    "w_shape", [(18,), (16,), (17, 1), (2, 17)], ids=["N+1", "N-1", "[N,1]", "[2,N]"]
)
def test_mismatched_shapes(w_shape: tuple[int, ...]) -> None:
    x = torch.randn(5, 17)
    assert_raises_at_line(scale_rows, kc.exc.ShapeMismatch, x, torch.randn(*w_shape))


def test_matching_shapes_still_work() -> None:
    x, w = torch.randn(5, 17), torch.randn(17)
    torch.testing.assert_close(scale_rows(x, w), x * w)
    torch.testing.assert_close(scale_rows(x, torch.ones(1)), x)  # broadcasting a size-1 dim
    torch.testing.assert_close(scale_rows(x, w[None, :]), x * w)  # [1, N], as in torch


@kc.kernel
def store_wrong_shape(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, :]  # <- error
    return out


def test_store_of_the_wrong_shape() -> None:
    assert_raises_at_line(store_wrong_shape, kc.exc.ShapeMismatch, torch.randn(4, 6))


@kc.kernel
def carried_changes_shape(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        acc = kl.zeros([tile_m], dtype=torch.float32)
        for tile_n in kl.tile(n):  # <- error
            acc = x[tile_m, tile_n]
        out[tile_m] = acc.sum(-1)
    return out


def test_loop_carried_value_changes_shape() -> None:
    e = assert_raises_at_line(carried_changes_shape, kc.exc.ShapeMismatch, torch.randn(4, 6))
    assert "acc" in str(e)


@kc.kernel
def reduce_missing_dim(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, :].sum(dim=2)  # <- error
    return out


def test_reduction_over_a_missing_dim() -> None:
    assert_raises_at_line(reduce_missing_dim, kc.exc.ShapeMismatch, torch.randn(4, 6))


@kc.kernel
def view_of_2d(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, :].view(-1)  # <- error
    return out


def test_view_minus_one_of_a_2d_value() -> None:
    assert_raises_at_line(view_of_2d, kc.exc.UnsupportedConstruct, torch.randn(4, 6))


@kc.kernel
def jagged_2d_bounds(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = torch.zeros([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        bounds = lengths[tile, :]
        for tile_k in kl.jagged_tile(bounds):  # <- error
            out[tile] = tile_k.index.sum()
    return out


def test_jagged_tile_needs_1d_bounds() -> None:
    lengths = torch.ones(4, 2, dtype=torch.int64)
    assert_raises_at_line(jagged_2d_bounds, kc.exc.ShapeMismatch, torch.randn(4), lengths)


@kc.kernel
def add_by_tile(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + y[tile]  # <- error
    return out


def test_tile_indexing_a_shorter_tensor_is_an_error() -> None:
    """A tile over x.size(0) = 8 must not read past the end of y (size 7)."""
    e = assert_raises_at_line(add_by_tile, kc.exc.ShapeMismatch, torch.randn(8), torch.randn(7))
    assert "'y'" in str(e)


def test_tile_indexing_a_longer_tensor_reads_its_prefix() -> None:
    x, y = torch.randn(8), torch.randn(9)
    torch.testing.assert_close(add_by_tile(x, y), x + y[:8])


# -- the language outside a kernel ---------------------------------------------------------------------

OUTSIDE = [
    ("kl.tile", lambda: kl.tile(8)),
    ("kl.tile", lambda: kl.tile([4, 4])),
    ("kl.grid", lambda: kl.grid(8)),
    ("kl.jagged_tile", lambda: kl.jagged_tile(torch.ones(3))),
    ("kl.full", lambda: kl.zeros([4])),
    ("kl.full", lambda: kl.full([4], 1.0)),
    ("kl.load", lambda: kl.load(torch.randn(4), [0])),
    ("kl.store", lambda: kl.store(torch.randn(4), [0], 1.0)),
    ("kl.register_block_size", lambda: kl.register_block_size(64)),
    ("kl.register_reduction_dim", lambda: kl.register_reduction_dim(64)),
    ("kl.specialize", lambda: kl.specialize(3)),
]


@pytest.mark.parametrize("name,call", OUTSIDE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OUTSIDE)])
def test_language_outside_a_kernel(name: str, call) -> None:  # noqa: ANN001
    with pytest.raises(kc.exc.NotInKernel, match=re.escape(f"{name}()")):
        call()


@kc.kernel
def device_function_in_host_code(x: torch.Tensor) -> torch.Tensor:
    acc = kl.zeros([x.size(0)])  # host code: not inside a device loop
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + acc[tile]
    return out


def test_device_function_in_host_code_is_not_in_kernel() -> None:
    with pytest.raises(kc.exc.NotInKernel, match="device loop"):
        device_function_in_host_code(torch.randn(8))


def test_not_in_kernel_is_still_raised_after_a_kernel_ran() -> None:
    exp_kernel(torch.randn(8))  # the host/tracer context is restored afterwards
    with pytest.raises(kc.exc.NotInKernel):
        kl.zeros([4])
    with pytest.raises(kc.exc.NotInKernel):
        kl.register_block_size(8)


# -- configs -----------------------------------------------------------------------------------------------


@kc.kernel
def copy_2d(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([x.size(0), x.size(1)]):
        out[tile_m, tile_n] = x[tile_m, tile_n]
    return out


@pytest.mark.parametrize("bad", [3, 0, -4, 48, 2.0, "16"])
def test_non_power_of_two_block_size(bad: object) -> None:
    k = kc.kernel(config=kc.Config(block_sizes=[bad]))(exp_kernel.fn)
    with pytest.raises(kc.exc.InvalidConfig, match=re.escape("block_sizes[0]")):
        k(torch.randn(8))


def test_invalid_block_size_names_its_index() -> None:
    k = kc.kernel(config=kc.Config(block_sizes=[4, 6]))(copy_2d.fn)
    with pytest.raises(kc.exc.InvalidConfig, match=re.escape("block_sizes[1]")):
        k(torch.randn(8, 8))
    with pytest.raises(kc.exc.InvalidConfig, match=re.escape("block_sizes[1]")):
        k.to_triton_code(torch.randn(8, 8))


def test_invalid_config_passed_to_to_triton_code() -> None:
    with pytest.raises(kc.exc.InvalidConfig, match=re.escape("block_sizes[0]")):
        exp_kernel.to_triton_code(torch.randn(8), config=kc.Config(block_sizes=[5]))


def test_unknown_config_field() -> None:
    with pytest.raises(TypeError, match="num_warp"):
        kc.Config(num_warp=4)


def test_non_power_of_two_num_warps() -> None:
    k = kc.kernel(config=kc.Config(num_warps=3))(exp_kernel.fn)
    with pytest.raises(kc.exc.InvalidConfig, match="num_warps"):
        k(torch.randn(8))


def test_too_many_block_sizes() -> None:
    """Extra entries are an error naming block_sizes and the count (Helion rejects them too),
    not silently ignored."""
    k = kc.kernel(config=kc.Config(block_sizes=[16, 16]))(exp_kernel.fn)
    with pytest.raises(kc.exc.InvalidConfig, match=r"block_sizes .*2 entries.* 1 block size"):
        k(torch.randn(8))
    with pytest.raises(kc.exc.InvalidConfig, match="block_sizes"):
        exp_kernel.to_triton_code(torch.randn(8), config=kc.Config(block_sizes=[16, 16]))


@kc.kernel
def _two_loops(x: torch.Tensor) -> torch.Tensor:
    y = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        y[tile] = x[tile] + 1
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = y[tile] * 2
    return out


def test_block_sizes_of_later_loops_are_not_extra() -> None:
    """block_sizes[1] belongs to the second device loop, which the first compile of a fresh
    kernel has not traced yet: accepted, and applied; a third entry is rejected."""
    k = kc.kernel(config=kc.Config(block_sizes=[4, 8]))(_two_loops.fn)
    x = torch.randn(10)
    torch.testing.assert_close(k(x), (x + 1) * 2)
    assert sorted(
        c.block_sizes["block_1"] for c in k.compiled_variants() if "block_1" in c.block_sizes
    ) == [8]
    k3 = kc.kernel(config=kc.Config(block_sizes=[4, 8, 16]))(_two_loops.fn)
    with pytest.raises(kc.exc.InvalidConfig, match=r"3 entries.* 2 block sizes"):
        k3(x)


# -- arguments ---------------------------------------------------------------------------------------------


def test_wrong_number_of_arguments() -> None:
    with pytest.raises(kc.exc.InvalidArgument, match="exp_kernel"):
        exp_kernel(torch.randn(8), torch.randn(8))


def test_wrong_number_of_arguments_is_a_type_error() -> None:
    """What holds today: a TypeError (InvalidArgument is one) before anything compiles."""
    with pytest.raises(TypeError):
        exp_kernel(torch.randn(8), torch.randn(8))
    with pytest.raises(TypeError):
        exp_kernel()


# -- degenerate inputs --------------------------------------------------------------------------------------


@kc.kernel
def exp_all_dims(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size()):  # <- error
        out[tile] = torch.exp(x[tile])
    return out


def test_empty_tensors_run() -> None:
    for shape in [(0,), (3, 0), (0, 5)]:
        x = torch.randn(shape)
        assert exp_all_dims(x).shape == shape


def test_zero_dim_input_is_run_or_rejected_with_a_line() -> None:
    x = torch.tensor(0.5)
    try:
        got = exp_all_dims(x)
    except kc.exc.CompileError:
        assert_raises_at_line(exp_all_dims, kc.exc.CompileError, x)
    else:
        torch.testing.assert_close(got, torch.exp(x))
