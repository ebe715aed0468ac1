"""Kernels of the bad-input corpus (test_bad_inputs.py). A line a case expects an error at
carries a ``# <- name`` marker; the corpus finds its number by the name."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl

SCALE = 2.0


@kc.kernel
def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # <- add-def
    (n,) = x.shape  # <- unpack-1d
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        out[tile] = x[tile] + y[tile]  # <- add-body
    return out


@kc.kernel
def add_n(x: torch.Tensor, y: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.empty([n], dtype=torch.float32)
    for tile in kl.tile(n):
        out[tile] = x[tile] + y[tile]  # <- add-n-body
    return out


@kc.kernel
def add2d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, n = x.shape  # <- unpack-2d
    out = torch.empty_like(x)
    for tm, tn in kl.tile([m, n]):
        out[tm, tn] = x[tm, tn] + y[tm, tn]
    return out


@kc.kernel
def add_into(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + 1.0
    return out


@kc.kernel
def copy_short_out(x: torch.Tensor) -> torch.Tensor:
    (n,) = x.shape
    out = torch.empty(n - 3, dtype=x.dtype)
    for tile in kl.tile(n):
        out[tile] = x[tile]
    return out


@kc.kernel
def row_sum(x: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(m):
        out[tile] = x[tile, :].sum(-1)
    return out


@kc.kernel
def row_mean(x: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(m):
        out[tile] = x[tile, :].mean(-1)
    return out


@kc.kernel
def row_max(x: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(m):
        out[tile] = torch.amax(x[tile, :], dim=-1)
    return out


@kc.kernel
def softmax(x: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        out[tile, :] = torch.softmax(x[tile, :], dim=1)  # <- softmax-body
    return out


@kc.kernel
def softmax_in_float32(x: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty(x.shape, dtype=torch.float32, device=x.device)
    for tile in kl.tile(m):
        out[tile, :] = torch.softmax(x[tile, :], dim=1, dtype=torch.float32)
    return out


@kc.kernel
def rows_to_1d(x: torch.Tensor) -> torch.Tensor:
    m = x.size(0)
    out = torch.empty([m], device=x.device)
    for tile in kl.tile(m):
        out[tile] = x[tile, :]  # <- rows-to-1d
    return out


@kc.kernel
def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, _ = x.shape
    _, n = y.shape
    out = torch.empty([m, n], device=x.device)
    for tm, tn in kl.tile([m, n]):
        out[tm, tn] = torch.matmul(x[tm, :], y[:, tn])  # <- matmul-body
    return out


@kc.kernel
def scaled(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        f = lambda v: v * SCALE  # noqa: E731
        out[tile] = f(x[tile])
    return out


@kc.kernel
def walrus(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = (v := x[tile]) * v
    return out


# -- Python that has no meaning in device code ----------------------------------------------------


@kc.kernel
def uses_global(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        global SCALE  # <- global
        out[tile] = x[tile] * SCALE
    return out


def make_uses_nonlocal() -> kc.Kernel:
    factor = 2.0

    @kc.kernel
    def uses_nonlocal(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            nonlocal factor  # <- nonlocal
            out[tile] = x[tile] * factor
        return out

    return uses_nonlocal


@kc.kernel
def uses_yield(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
        yield out  # <- yield


@kc.kernel
def uses_del(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        del v  # <- del
        out[tile] = x[tile]
    return out


@kc.kernel
def uses_match(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        match 1:  # <- match
            case _:
                out[tile] = x[tile]
    return out


@kc.kernel
def uses_nested_def(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):

        def twice(v):  # noqa: ANN001, ANN202  # <- def
            return v * 2

        out[tile] = twice(x[tile])
    return out


@kc.kernel
def uses_raise(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        raise ValueError("device code cannot raise")  # <- raise
        out[tile] = x[tile]
    return out


@kc.kernel
def uses_import(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        import math  # <- import

        out[tile] = x[tile] * math.pi
    return out


@kc.kernel
def uses_continue(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
        continue  # <- continue
    return out


@kc.kernel
def uses_class(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):

        class Holder:  # <- class
            pass

        out[tile] = x[tile]
    return out


@kc.kernel
def asserts_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        assert x[tile].sum() > 0  # <- assert-device
        out[tile] = x[tile]
    return out


@kc.kernel
def uses_item(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * x[tile].sum().item()  # <- item
    return out


@kc.kernel
def int_of_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + x[int(x[tile].sum())]  # <- int-of-device
    return out


@kc.kernel
def list_comprehension(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        parts = [x[tile] * i for i in range(2)]  # <- listcomp
        out[tile] = parts[0] + parts[1]
    return out


@kc.kernel
def device_list_argument(x: list, y: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.empty([n])
    for tile in kl.tile(n):
        out[tile] = x[tile] + y[tile]  # <- list-arg
    return out


# -- host code and device loops --------------------------------------------------------------------


@kc.kernel
def reads_device_value_after_loop(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        doubled = x[tile] * 2
        out[tile] = doubled
    return doubled  # <- after-loop


@kc.kernel
def returns_the_tile(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
    return tile  # <- tile-after-loop


@kc.kernel
def accumulates_into_host_variable(x: torch.Tensor) -> torch.Tensor:
    total = 0.0
    for tile in kl.tile(x.size(0)):
        total = total + x[tile].sum()  # <- host-accumulate
    return total


@kc.kernel
def bool_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + y[tile]
    return out


# -- constructs with a located, user-term error (or a meaning) ---------------------------------------


@kc.kernel
def generator_sum(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = sum(x[tile] * i for i in range(3))
    return out


@kc.kernel
def iterates_a_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        parts = [v for v in x[tile]]  # <- iterate-device-value
        out[tile] = parts[0]
    return out


@kc.kernel
def calls_itself(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = calls_itself(x[tile])  # <- self-call
    return out


@kc.kernel
def calls_another_kernel(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = add(x[tile], x[tile])  # <- kernel-call
    return out


@kc.kernel
def host_int_block_size(x: torch.Tensor, bs: int) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=bs):  # <- host-int-block
        out[tile] = x[tile]
    return out


@kc.kernel
def size_block_size(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=x.size(0)):  # <- size-block
        out[tile] = x[tile]
    return out


@kc.kernel
def float_tile_bound(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(3.5):  # <- float-bound
        out[tile] = x[tile]
    return out


@kc.kernel
def tensor_tile_bound(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x):  # <- tensor-bound
        out[tile] = x[tile]
    return out


@kc.kernel
def prints_in_device_code(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        print("value", x[tile], sep=", ")  # <- print
        out[tile] = x[tile]
    return out


@kc.kernel
def device_prints(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        print("doubled", x[tile] * 2)
        out[tile] = x[tile] * 2
    return out


@kc.kernel
def missing_attribute(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile].no_such_method()  # <- missing-attribute
    return out


@kc.kernel
def unpacks_a_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        a, b = x[tile]  # <- unpack-device
        out[tile] = a + b
    return out


def _raises_value_error(v: object) -> object:
    raise ValueError("the helper refuses")  # a user helper's own error, at the call's line


@kc.kernel
def helper_raises(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = _raises_value_error(x[tile])  # <- helper-raises
    return out


# Kernels the internal-error rows break from the inside (each traces afresh: own kernel).


@kc.kernel
def ice_in_tracing(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):  # <- ice-trace
        out[tile] = x[tile]
    return out


@kc.kernel
def ice_in_expression(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + 1.0  # <- ice-expression
    return out


@kc.kernel
def ice_in_compiling(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):  # <- ice-compile
        out[tile] = x[tile]
    return out


@kc.kernel
def take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = x[idx[tile]]  # <- gather
    return out


@kc.kernel
def take_flat(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = kl.load(x, [idx[tile] * 2 + 1])  # <- flat-load
    return out


@kc.kernel
def put(x: torch.Tensor, idx: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(idx.size(0)):
        out[idx[tile]] = x[tile]  # <- put
    return out


@kc.kernel
def pick(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    out = torch.empty([rows.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(rows.size(0)):
        out[tile] = x[rows[tile], cols[tile]]  # <- pick
    return out


# -- shapes: reshapes that split a dim, bounded slices, index runs, new blocks -------------------


@kc.kernel
def halves(x: torch.Tensor) -> torch.Tensor:
    m, d = x.shape
    half = d // 2
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        pair = x[tile, :].reshape(tile, 2, half)  # <- halves
        lo, hi = kl.split(pair.permute(0, 2, 1))
        out[tile, :] = kl.join(hi, lo).permute(0, 2, 1).reshape(tile, d)
    return out


@kc.kernel(static_shapes=True)
def cat_unequal(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), x.size(1) + y.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], y[tile, :]], 1)
    return out


@kc.kernel
def cat_of_tiles(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros([3 * x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        both = torch.cat([x[tile], x[tile], x[tile]])  # <- cat-of-tiles
        out[tile] = both.sum()
    return out


@kc.kernel
def tail_from(x: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.zeros([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, k:].sum(-1)  # <- tail-from
    return out


@kc.kernel
def tail_from_loaded(x: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    out = torch.zeros([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, starts[tile.begin] :].sum(-1)  # <- tail-from-loaded
    return out


@kc.kernel(static_shapes=True)
def head4(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 4], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, 1:5]  # <- head4
    return out


@kc.kernel(static_shapes=True)
def rows_from(x: torch.Tensor, first: kl.constexpr) -> torch.Tensor:
    out = torch.empty([x.size(0), 4], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, first + kl.arange(4)]  # <- rows-from
    return out


@kc.kernel
def new_block_bad_shape(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + x[tile].new_zeros([tile, 1.5])  # <- new-zeros
    return out
