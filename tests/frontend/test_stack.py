"""``torch.stack`` of blocks: two blocks are a ``kl.join`` (a new last dim of size 2) moved to
``dim`` by a permutation; one block is an unsqueeze; a count that is not a power of two is
the blocks unsqueezed at ``dim`` and concatenated (``tile.concat``). Checked against torch on
odd shapes in the three float dtypes; blocks of different shapes are a located error."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch
from kcompiler.testing import (
    FLOAT_DTYPES,
    assert_matches_torch,
    dtypes,
    marker_line,
    sizes,
    tensors,
)


def _line(marker: str) -> int:
    return marker_line(__file__, marker)


@kc.kernel(static_shapes=True)
def stack_dim0(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([2, x.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[:, tile, :] = torch.stack([x[tile, :], y[tile, :] * 2])
    return out


@kc.kernel(static_shapes=True)
def stack_dim1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :, :] = torch.stack([x[tile, :], y[tile, :] * 2], dim=1)
    return out


@kc.kernel(static_shapes=True)
def stack_last(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), x.size(1), 2], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :, :] = torch.stack([x[tile, :], y[tile, :] * 2], dim=-1)
    return out


STACKERS = {0: stack_dim0, 1: stack_dim1, -1: stack_last}


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_stack_of_two_blocks_matches_torch(dim: int, dtype: torch.dtype) -> None:
    x, y = torch.randn(17, 5).to(dtype), torch.randn(17, 5).to(dtype)
    assert_matches_torch(STACKERS[dim], lambda a, b: torch.stack([a, b * 2], dim), x, y)


@kc.kernel(static_shapes=True)
def stack_three(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.stack([x[tile], x[tile] + 1, x[tile] * 2], dim=1)
    return out


@kc.kernel(static_shapes=True)
def stack_three_2d(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Three [tile, n] blocks stacked at ``dim`` (0, 1 or 2), stored as [tile, 3, n] etc."""
    shape = [x.size(0), x.size(1)]
    shape.insert(dim, 3)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile, :]
        s = torch.stack([v, -v, v * 2], dim=dim)
        if dim == 0:
            out[:, tile, :] = s
        elif dim == 1:
            out[tile, :, :] = s
        else:
            out[tile, :, :] = s
    return out


@kc.kernel(static_shapes=True)
def stack_five(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([5, x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        out[:, tile] = torch.stack([v, v + 1, v + 2, v + 3, v + 4])
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_stack_of_an_odd_count_matches_torch(dtype: torch.dtype) -> None:
    x = torch.randn(13).to(dtype)
    assert_matches_torch(stack_three, lambda a: torch.stack([a, a + 1, a * 2], 1), x)
    assert_matches_torch(stack_five, lambda a: torch.stack([a + k for k in range(5)]), x)
    m = torch.randn(9, 5).to(dtype)
    for dim in (0, 1, 2):
        assert_matches_torch(
            lambda a, d=dim: stack_three_2d(a, d),
            lambda a, d=dim: torch.stack([a, -a, a * 2], d),
            m,
        )


@kc.kernel(static_shapes=True)
def stack_mismatched(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :, :] = torch.stack([x[tile, :], x[tile, 0]], dim=1)  # <- mismatched
    return out


@kc.kernel(static_shapes=True)
def stack_three_mismatched(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile, :]
        out[tile, :, :] = torch.stack([v, v, x[tile, 0:1]], dim=1)  # <- three mismatched
    return out


def test_stack_misuse_names_the_line() -> None:
    with pytest.raises(ShapeMismatch, match=rf"test_stack.py:{_line('mismatched')}\b.*differ"):
        stack_mismatched(torch.randn(5, 3))
    with pytest.raises(
        ShapeMismatch, match=rf"test_stack.py:{_line('three mismatched')}\b.*differ"
    ):
        stack_three_mismatched(torch.randn(5, 3))


@kc.kernel(static_shapes=True)
def stack_k(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The k rows of x's first dim, scaled, stacked at ``dim`` of [tile, n] blocks."""
    k = x.size(0)
    shape = [x.size(1), x.size(2)]
    shape.insert(dim, k)
    out = torch.empty(shape, dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(1)):
        s = torch.stack([x[i, tile, :] * (i + 1) for i in range(k)], dim=dim)
        if dim == 0:
            out[:, tile, :] = s
        else:
            out[tile, :, :] = s
    return out


@settings(max_examples=5, deadline=None)
@given(
    k=st.integers(1, 7),
    rows=sizes(max_side=40),
    n=st.integers(1, 12),
    dim=st.integers(0, 2),
    dtype=dtypes(),
    data=st.data(),
)
def test_stack_of_any_count_matches_torch(
    k: int, rows: int, n: int, dim: int, dtype: torch.dtype, data: st.DataObject
) -> None:
    x = data.draw(tensors((k, rows, n), dtype))
    assert_matches_torch(
        lambda a: stack_k(a, dim),
        lambda a: torch.stack([a[i] * (i + 1) for i in range(k)], dim),
        x,
    )


@kc.kernel
def stack_three_into_dynamic(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.stack([x[tile], x[tile], x[tile]], dim=1)  # <- dynamic 3
    return out


@kc.kernel
def stack_three_into_specialized(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3], dtype=x.dtype, device=x.device)
    three = kl.specialize(out.size(1))
    for tile in kl.tile(x.size(0)):
        out[tile, 0:three] = torch.stack([x[tile], -x[tile], x[tile] * 2], dim=1)
    return out


def test_stack_of_three_into_a_dynamic_size() -> None:
    # With dynamic shapes out's width is a size symbol, which one variant serves for any
    # value: a static 3 does not fit it without a guarantee, so the store is refused where
    # it is written; kl.specialize makes the width 3 in the compiled code, and it fits.
    with pytest.raises(
        ShapeMismatch,
        match=rf"test_stack.py:{_line('dynamic 3')}\b.*vs 3 \(s\d+ is a size known only at run",
    ):
        stack_three_into_dynamic(torch.randn(5))
    x = torch.randn(11)
    assert_matches_torch(stack_three_into_specialized, lambda a: torch.stack([a, -a, a * 2], 1), x)
