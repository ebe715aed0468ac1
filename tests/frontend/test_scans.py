"""Scans and user-defined reductions: ``kl.cumsum``/``kl.cumprod`` (and torch.cumsum/cumprod,
``x.cumsum``), ``kl.associative_scan`` and ``kl.reduce`` with a Python combine function, each
against torch over odd sizes (lanes past a dim's end must not leak into a result, which a
reverse scan would otherwise carry into every element)."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import assert_matches_torch, call_with_config, dtypes

ODD = st.sampled_from([1, 3, 17, 33])


@kc.kernel
def row_scans(x: torch.Tensor, reverse: kl.constexpr) -> tuple[torch.Tensor, torch.Tensor]:
    m, n = x.shape
    sums = torch.empty_like(x)
    prods = torch.empty_like(x)
    for tile_m in kl.tile(m):
        row = x[tile_m, :].float()
        sums[tile_m, :] = kl.cumsum(row, 1, reverse=reverse)
        prods[tile_m, :] = kl.cumprod(row * 0.05 + 1.0, dim=-1, reverse=reverse)
    return sums, prods


@settings(max_examples=4, deadline=None)
@given(ODD, ODD, dtypes(), st.booleans())
def test_cumsum_and_cumprod_along_a_whole_dim(m: int, n: int, dtype, reverse: bool) -> None:
    def ref(x: torch.Tensor, reverse: bool):
        xf = x.float().flip(1) if reverse else x.float()
        s, p = xf.cumsum(1), (xf * 0.05 + 1.0).cumprod(1)
        if reverse:
            s, p = s.flip(1), p.flip(1)
        return s.to(x.dtype), p.to(x.dtype)

    x = torch.randn(m, n).to(dtype)
    assert_matches_torch(
        row_scans, ref, x, reverse, atol=1e-2 * n if dtype != torch.float32 else 1e-4 * n
    )


def test_a_reverse_scan_of_one_element_in_bf16() -> None:
    """A [1, 1] bf16 block scanned in reverse: the interpreter holds the reversed block as a
    numpy view with a negative stride, which its bf16 rounding must copy before torch reads it."""
    x = torch.tensor([[-0.9296875]], dtype=torch.bfloat16)
    sums, prods = row_scans(x, True)
    assert_matches_torch(lambda: (sums, prods), lambda: (x, (x.float() * 0.05 + 1).to(x.dtype)))


@kc.kernel
def tile_scan(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.int64)
    for tile in kl.tile(x.size(0), block_size=8):
        out[tile] = torch.cumsum(x[tile], 0) + x[tile].cumprod(0) * 0
    return out


def test_torch_cumsum_within_a_tile_of_ints() -> None:
    """A scan along a tile's dim scans within each tile (Helion's meaning); ints give int64."""
    x = torch.randint(-5, 5, (21,), dtype=torch.int32)
    want = torch.cat([c.cumsum(0) for c in x.split(8)])
    assert_matches_torch(tile_scan, lambda x: want, x)


def _running_max(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.maximum(a, b)


def _first_max(a, b):
    (va, ia), (vb, ib) = a, b
    take = (va > vb) | ((va == vb) & (ia < ib))
    return torch.where(take, va, vb), torch.where(take, ia, ib)


def _affine(a_mul, a_add, b_mul, b_add):  # the flattened form: all left, then all right
    return a_mul * b_mul, a_add * b_mul + b_add


@kc.kernel
def custom_scans(x: torch.Tensor, reverse: kl.constexpr):
    m, n = x.shape
    best = torch.empty_like(x)
    decayed = torch.empty_like(x)
    for tile_m in kl.tile(m):
        row = x[tile_m, :]
        best[tile_m, :] = kl.associative_scan(_running_max, row, 1, reverse=reverse)
        decay = kl.full([tile_m, n], 0.5, dtype=x.dtype)
        _, h = kl.associative_scan(_affine, (decay, row), 1, reverse=reverse)
        decayed[tile_m, :] = h
    return best, decayed


@settings(max_examples=4, deadline=None)
@given(ODD, ODD, dtypes(), st.booleans())
def test_associative_scan(m: int, n: int, dtype, reverse: bool) -> None:
    def ref(x: torch.Tensor, reverse: bool):
        xf = x.float().flip(1) if reverse else x.float()
        best = xf.cummax(1).values
        h = torch.zeros_like(xf)
        acc = torch.zeros(xf.size(0))
        for j in range(xf.size(1)):  # h_j = 0.5 * h_{j-1} + x_j
            acc = acc * 0.5 + xf[:, j]
            h[:, j] = acc
        if reverse:
            best, h = best.flip(1), h.flip(1)
        return best.to(x.dtype), h.to(x.dtype)

    x = torch.randn(m, n).to(dtype)
    assert_matches_torch(custom_scans, ref, x, reverse)


@kc.kernel
def custom_reduce(x: torch.Tensor):
    m, n = x.shape
    vals = torch.empty([m], dtype=x.dtype)
    idx = torch.empty([m], dtype=torch.int64)
    prods = torch.empty([m, 1], dtype=x.dtype)
    for tile_m in kl.tile(m):
        row = x[tile_m, :]
        cols = kl.arange(n, dtype=torch.int64)[None, :] + tile_m.index[:, None] * 0
        v, i = kl.reduce(_first_max, (row, cols), 1, other=(float("-inf"), 0))
        vals[tile_m] = v
        idx[tile_m] = i
        prods[tile_m, :] = kl.reduce(lambda a, b: a * b, row, 1, other=1.0, keep_dims=True)
    return vals, idx, prods


@settings(max_examples=4, deadline=None)
@given(ODD, ODD, dtypes())
def test_reduce_with_a_combine_function(m: int, n: int, dtype) -> None:
    def ref(x: torch.Tensor):
        return x.amax(1), x.argmax(1), x.float().prod(1, keepdim=True).to(x.dtype)

    x = (torch.randn(m, n) * 0.2 + 1.0).to(dtype)
    assert_matches_torch(custom_reduce, ref, x)


@kc.kernel
def reduce_of_a_block(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + kl.reduce(torch.minimum, x[tile], other=float("inf"))
    return out


def test_reduce_without_dim_of_a_1d_block() -> None:
    x = torch.randn(40)
    got = call_with_config(reduce_of_a_block, kc.Config(block_sizes=[64]), x)
    torch.testing.assert_close(got, x + x.min())


# -- misuse -------------------------------------------------------------------------------


@kc.kernel
def scan_block_combine(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.associative_scan(lambda a, b: x[tile], x[tile], 0)  # noqa: B023  # BAD
    return out


@kc.kernel
def scan_without_function(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.associative_scan(x[tile], x[tile], 0)  # BAD
    return out


@kc.kernel
def cumsum_bad_dim(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.cumsum(x[tile], 1)  # BAD
    return out


@kc.kernel
def reduce_wrong_arity(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.reduce(_first_max, (x[tile], x[tile]), 0)[0] + kl.reduce(  # BAD
            lambda a, b: (a, b), x[tile], 0
        )
    return out


@pytest.mark.parametrize(
    "kernel, error, message",
    [
        (scan_block_combine, ShapeMismatch, "must combine elements"),
        (scan_without_function, UnsupportedConstruct, "first argument is the combine function"),
        (cumsum_bad_dim, ShapeMismatch, "dim 1 out of range"),
        (reduce_wrong_arity, ShapeMismatch, "returned 2 values for 1 inputs"),
    ],
)
def test_misuse_is_located(kernel, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        kernel(torch.randn(8))
    lines, start = inspect.getsourcelines(kernel.fn)
    line = start + next(i for i, ln in enumerate(lines) if "# BAD" in ln)
    assert f":{line}:" in str(info.value)
