"""Atomics: ``kl.atomic_add/max/min/and/or/xor/xchg/cas`` with ``sem``. Each returns the old
values; conflicting updates (a histogram's repeated bins, split-K partial sums) must all land."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import CompileError, ShapeMismatch
from kcompiler.testing import assert_matches_torch, call_with_config, marker_line


@kc.kernel
def histogram(x: torch.Tensor, bins: int) -> torch.Tensor:
    counts = torch.zeros([bins], dtype=torch.int32)
    for tile in kl.tile(x.size(0)):
        kl.atomic_add(counts, [x[tile]], 1)
    return counts


@settings(max_examples=4, deadline=None)
@given(st.sampled_from([1, 3, 17, 1000]), st.sampled_from([1, 5, 16]))
def test_histogram_with_repeated_bins(n: int, bins: int) -> None:
    x = torch.randint(0, bins, (n,))
    want = torch.bincount(x, minlength=bins).to(torch.int32)
    assert_matches_torch(histogram, lambda x, b: want, x, bins)


@kc.kernel
def split_k_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    m, k = a.shape
    _, n = b.shape
    out = torch.zeros([m, n], dtype=torch.float32)
    for tile_m, tile_n, tile_k in kl.tile([m, n, k]):
        kl.atomic_add(out, [tile_m, tile_n], a[tile_m, tile_k].float() @ b[tile_k, tile_n].float())
    return out


def test_split_k_partial_sums_all_land() -> None:
    a, b = torch.randn(19, 40), torch.randn(40, 9)
    got = call_with_config(split_k_matmul, kc.Config(block_sizes=[16, 16, 16]), a, b)
    torch.testing.assert_close(got, a @ b, atol=1e-4, rtol=1e-4)


@kc.kernel
def extremes_and_bits(x: torch.Tensor, bits: torch.Tensor):
    hi = torch.full([1], -1000.0)
    lo = torch.full([1], 1000.0)
    ors = torch.zeros([1], dtype=torch.int32)
    ands = torch.full([1], -1, dtype=torch.int32)
    xors = torch.zeros([1], dtype=torch.int32)
    for tile in kl.tile(x.size(0)):
        zero = tile.index * 0
        kl.atomic_max(hi, [zero], x[tile], sem="acq_rel")
        kl.atomic_min(lo, [zero], x[tile], sem="release")
        kl.atomic_or(ors, [zero], bits[tile])
        kl.atomic_and(ands, [zero], bits[tile], sem="acquire")
        kl.atomic_xor(xors, [zero], bits[tile])
    return hi, lo, ors, ands, xors


def test_max_min_and_bitwise_atomics() -> None:
    x = torch.randn(37)
    bits = torch.randint(0, 1 << 20, (37,), dtype=torch.int32)

    def ref(x, bits):
        o, a, r = 0, -1, 0
        for v in bits.tolist():
            o, a, r = o | v, a & v, r ^ v
        as_t = lambda v: torch.tensor([v], dtype=torch.int32)  # noqa: E731
        return x.max().reshape(1), x.min().reshape(1), as_t(o), as_t(a), as_t(r)

    assert_matches_torch(extremes_and_bits, ref, x, bits)


@kc.kernel
def exchange_and_swap(x: torch.Tensor, flags: torch.Tensor):
    old = torch.empty_like(x)
    seen = torch.empty_like(flags)
    for tile in kl.tile(x.size(0)):
        old[tile] = kl.atomic_xchg(x, [tile], x[tile] * 2.0)
    for i in kl.grid(flags.size(0)):
        seen[i] = kl.atomic_cas(flags, [i], 0, 7, sem="acq_rel")
    return old, seen


def test_xchg_and_cas_return_the_old_values() -> None:
    x = torch.randn(21)
    flags = torch.tensor([0, 1, 0, 3], dtype=torch.int32)
    x0, f0 = x.clone(), flags.clone()
    old, seen = exchange_and_swap(x, flags)
    torch.testing.assert_close(old, x0)
    torch.testing.assert_close(x, x0 * 2.0)
    assert seen.tolist() == f0.tolist()
    assert flags.tolist() == [7, 1, 7, 3]


@kc.kernel
def bad_sem(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        kl.atomic_add(out, [tile], x[tile], sem="sequential")  # BAD
    return out


@kc.kernel
def bad_shape(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        kl.atomic_add(out, [tile], y[:])  # BAD
    return out


@kc.kernel
def bad_float_or(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        kl.atomic_or(out, [tile], x[tile])  # BAD
    return out


@pytest.mark.parametrize(
    "kernel, args, error, message",
    [
        (bad_sem, (torch.randn(8),), CompileError, "the memory order is one of"),
        (bad_shape, (torch.randn(8), torch.randn(5)), ShapeMismatch, "cannot apply a value"),
        (bad_float_or, (torch.randn(8),), ShapeMismatch, "atomic or on floating-point"),
    ],
)
def test_misuse_is_located(kernel, args, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        kernel(*args)
    lines, start = inspect.getsourcelines(kernel.fn)
    line = start + next(i for i, ln in enumerate(lines) if "# BAD" in ln)
    assert f":{line}:" in str(info.value)


@kc.kernel
def scatter_max(idx: torch.Tensor, val: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(idx.size(0)):
        kl.atomic_max(out, [idx[tile]], val[tile])  # <- max element type
    return out


@kc.kernel
def scatter_add(idx: torch.Tensor, val: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    for tile in kl.tile(idx.size(0)):
        kl.atomic_add(out, [idx[tile]], val[tile])  # <- add element type
    return out


@pytest.mark.parametrize(
    ("kernel", "dtype", "match"),
    [
        (scatter_max, torch.float16, "atomic max of a half-precision float"),
        (scatter_max, torch.bfloat16, "atomic max of a half-precision float"),
        (scatter_add, torch.int8, "atomic add of i8 elements"),
        (scatter_add, torch.int16, "atomic add of i16 elements"),
    ],
)
def test_an_element_type_gpus_cannot_update_atomically_names_the_line(
    kernel: kc.Kernel, dtype: torch.dtype, match: str
) -> None:
    """Triton refuses these (fp16/bf16 have atomic add only; no 8-bit or int16 atomics): a
    located error when the kernel compiles, not Triton's ValueError when it launches."""
    idx, val = torch.tensor([0, 2, 0]), torch.ones(3, dtype=dtype)
    with pytest.raises(kc.exc.UnsupportedConstruct, match=match) as info:
        kernel(idx, val, torch.zeros(3, dtype=dtype))
    line = marker_line(__file__, f"{'max' if kernel is scatter_max else 'add'} element type")
    assert f"test_atomics.py:{line}:" in str(info.value), str(info.value)
