"""Index tensors made by ``kl.arange`` select like slices: each adds a dim of its own.

``A[tile, rows, cols]`` with ``rows = 16 + kl.arange(16)`` and ``cols = kl.arange(16)`` is the
16 x 16 block of rows 16..31 and columns 0..15 (Helion's Cartesian rule for several 1-D index
tensors), not torch's elementwise pairing, which index tensors loaded from memory keep
(tests/kernels/test_index_bounds.py). The positions are bounds-checked like any computed
index. Checked against torch slicing on odd shapes in the three float dtypes.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, few_examples, tensors

FEW = few_examples(4)


@kc.kernel
def square_block(x: torch.Tensor, first: kl.constexpr) -> torch.Tensor:
    b = x.size(0)
    out = torch.zeros_like(x)
    for tile in kl.tile(b):
        rows = first + kl.arange(8)
        cols = kl.arange(8) * 2
        v = x[tile, rows, cols]  # [tile, 8, 8]  # <- outer-load
        out[tile, rows, cols] = v * 3.0 + v.sum(-1, keepdim=True).to(v.dtype)  # <- outer
    return out


def square_block_ref(x: torch.Tensor, first: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    v = x[:, first : first + 8, 0:16:2].float()
    out[:, first : first + 8, 0:16:2] = (v * 3.0 + v.to(x.dtype).float().sum(-1, keepdim=True)).to(
        x.dtype
    )
    return out


@FEW
@given(st.data())
def test_arange_indices_take_a_cartesian_block(data: st.DataObject) -> None:
    b = data.draw(st.sampled_from([1, 3, 17]))
    first = data.draw(st.sampled_from([0, 1, 5]))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((b, 13 + first, 19), dtype))
    assert_matches_torch(square_block, square_block_ref, x, first)


def test_arange_index_past_the_end_is_caught() -> None:
    x = torch.randn(3, 10, 19)  # rows 5..12 run past 10
    line = next(i for i, s in enumerate(open(__file__), 1) if "# <- outer-load" in s)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=rf"test_outer_index.py:{line}\b.*'x'"):
        square_block(x, 5)


@kc.kernel
def column_sums(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros([m], dtype=torch.float32, device=x.device)
    for tile in kl.tile(m):
        acc = kl.zeros([tile], dtype=torch.float32)
        for chunk in kl.tile(n, block_size=4):
            # A sequential loop's begin is a Python int under the interpreter: the cast to
            # the arange's int32 must convert a scalar, not call .to on it.
            cols = chunk.begin + kl.arange(chunk.block_size)
            acc += torch.where((cols < n)[None, :], x[tile, cols % n], 0.0).float().sum(-1)
        out[tile] = acc
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_arange_from_a_sequential_tile_begin_matches_torch(dtype: torch.dtype) -> None:
    x = torch.randn(5, 17).to(dtype)
    assert_matches_torch(column_sums, lambda v: v.float().sum(-1), x)
