"""``kl.load``/``kl.store`` with ``extra_mask``: masked-off lanes are neither read nor written.

A dropped mask is a silent wrong result (reads past a short row return its neighbour's data),
so each test puts data where the mask must keep the kernel from looking.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch
from kcompiler.testing import assert_matches_torch, call_with_config, dtypes


@kc.kernel
def jagged_dense_add(x_data: torch.Tensor, x_offsets: torch.Tensor, y: torch.Tensor):
    num_rows = y.size(0)
    out = torch.zeros_like(y)
    for tile0 in kl.tile(num_rows):
        starts = x_offsets[tile0]
        ends = x_offsets[tile0.index + 1]
        nnz = ends - starts
        max_nnz = nnz.amax()
        for tile1 in kl.tile(0, max_nnz):
            x_slice = kl.load(
                x_data,
                [starts[:, None] + tile1.index[None, :]],
                extra_mask=tile1.index[None, :] < nnz[:, None],
            )
            out[tile0, tile1] = y[tile0, tile1] + x_slice
        for tile1 in kl.tile(max_nnz, out.size(1)):
            out[tile0, tile1] = y[tile0, tile1]
    return out


def _jagged_reference(x_data, x_offsets, y):
    out = y.clone()
    for i in range(y.size(0)):
        a, b = int(x_offsets[i]), int(x_offsets[i + 1])
        out[i, : b - a] += x_data[a:b]
    return out


@settings(max_examples=6, deadline=None)
@given(st.lists(st.integers(0, 17), min_size=1, max_size=9), st.integers(0, 5), dtypes())
def test_jagged_dense_add_reads_only_each_row(lengths, extra, dtype) -> None:
    n = max(lengths) + extra
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    x_data = torch.randn(int(offsets[-1])).to(dtype)
    y = torch.randn(len(lengths), max(n, 1)).to(dtype)
    assert_matches_torch(jagged_dense_add, _jagged_reference, x_data, offsets, y)


@kc.kernel
def masked_row_sums(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty(m, dtype=x.dtype)
    for tile_m in kl.tile(m):
        ln = lengths[tile_m]
        row = kl.load(x, [tile_m, slice(None)], extra_mask=ln[:, None] > 0)
        out[tile_m] = row.sum(-1)
    return out


@kc.kernel
def masked_store(x: torch.Tensor, limit: float) -> torch.Tensor:
    out = torch.full_like(x, -1.0)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        kl.store(out, [tile], v * 2.0, extra_mask=v < limit)
    return out


def test_masked_store_writes_only_where_true() -> None:
    for n in (1, 3, 17, 1000):
        x = torch.randn(n)
        assert_matches_torch(
            masked_store, lambda x, lim: torch.where(x < lim, x * 2.0, -1.0), x, 0.25
        )


def test_masked_load_of_whole_rows_then_reduced() -> None:
    x = torch.randn(7, 33)
    lengths = torch.tensor([0, 1, 0, 5, 2, 0, 9])
    want = torch.where(lengths[:, None] > 0, x, 0.0).sum(-1)
    assert_matches_torch(masked_row_sums, lambda x, lengths: want, x, lengths)
    # the same with the row reduced in chunks (split-reductions), the mask chunked along
    got = call_with_config(
        masked_row_sums, kc.Config(block_sizes=[4], reduction_loops=[8]), x, lengths
    )
    torch.testing.assert_close(got, want)


@kc.kernel
def bad_mask_dtype(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.load(x, [tile], extra_mask=x[tile])  # BAD: not bool
    return out


@kc.kernel
def bad_mask_shape(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.load(x, [tile], extra_mask=y[:] > 0)  # BAD: another dim
    return out


def _line_of(fn, marker: str) -> str:
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return f":{start + next(i for i, ln in enumerate(lines) if marker in ln)}:"


@pytest.mark.parametrize(
    "kernel, args, message",
    [
        (bad_mask_dtype, (torch.randn(8),), "must be a bool device value"),
        (bad_mask_shape, (torch.randn(8), torch.randn(5)), "does not broadcast"),
    ],
)
def test_bad_masks_are_located(kernel, args, message) -> None:
    with pytest.raises(ShapeMismatch, match=message) as info:
        kernel(*args)
    assert _line_of(kernel.fn, "# BAD") in str(info.value)


@kc.kernel
def masked_centered_store(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros_like(x)
    for tile_m in kl.tile(m):
        row = x[tile_m, :]
        total = row.sum(-1)
        kl.store(out, [tile_m, slice(None)], row - total[:, None], extra_mask=row > 0)
    return out


def test_masked_store_of_a_chunked_row() -> None:
    x = torch.randn(6, 37)
    want = torch.where(x > 0, x - x.sum(-1, keepdim=True), 0.0)
    for config in (kc.Config(block_sizes=[2]), kc.Config(block_sizes=[2], reduction_loops=[8])):
        got = call_with_config(masked_centered_store, config, x)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    code = masked_centered_store.to_triton_code(x, config=kc.Config(reduction_loops=[8]))
    assert "for begin" in code  # the row really is processed in chunks
