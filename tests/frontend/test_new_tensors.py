"""``new_full``/``new_zeros``/``new_ones``/``new_empty`` and ``*_like`` on device values.

The new block takes its dtype (and device) from the value it is called on unless given, and
its shape from tiles, sizes or ints; ``empty`` blocks are zero-filled (torch leaves them
unspecified). Checked against the same torch calls on odd shapes in the three float dtypes.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import UnsupportedConstruct
from kcompiler.testing import (
    FLOAT_DTYPES,
    assert_matches_torch,
    call_with_config,
    few_examples,
    shapes,
    tensors,
)

FEW = few_examples(3)


@kc.kernel
def new_blocks(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        v = x[tile, :]
        cap = v.new_full([], 0.5)  # a 0-d block in v's dtype
        ones = v.new_ones(size=(tile, n), dtype=torch.int32, device=v.device)
        zeros = v.new_zeros(tile, n) + v.new_empty([tile, n]) + torch.empty_like(v)
        out[tile, :] = torch.minimum(v, cap) + ones + zeros
    return out


def new_blocks_ref(x: torch.Tensor) -> torch.Tensor:
    cap = x.new_full([], 0.5)
    return (torch.minimum(x, cap) + x.new_ones(x.shape, dtype=torch.int32)).to(x.dtype)


@FEW
@given(st.data())
def test_new_blocks_match_torch(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors(shapes(2, max_numel=2**12), dtype))
    assert_matches_torch(new_blocks, new_blocks_ref, x)


@kc.kernel
def new_full_keeps_dtype(x: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        idx = x[tile]
        out[tile] = torch.minimum(idx, idx.new_full([], n))  # x's dtype, n a size
        first = x[tile.begin] + 3  # flex_attention's end_n.new_full([], N): a 0-d block
        out[tile.begin] = torch.minimum(first, first.new_full([], n))
    return out


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_new_full_of_an_index_clamps_in_its_dtype(dtype: torch.dtype) -> None:
    x = torch.arange(-5, 40, dtype=dtype)
    got = call_with_config(new_full_keeps_dtype, kc.Config(block_sizes=[16]), x, 17)
    want = x.clamp(max=17)
    want[::16] = (x[::16] + 3).clamp(max=17)  # each tile's first element
    assert got.dtype == dtype and torch.equal(got, want), (got, want)


@kc.kernel
def new_zeros_of_float_shape(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + x[tile].new_zeros(2.5)  # <- bad-shape
    return out


def test_new_zeros_with_a_float_shape_names_the_line() -> None:
    line = next(i for i, s in enumerate(open(__file__), 1) if "# <- bad-shape" in s)
    with pytest.raises(UnsupportedConstruct, match=rf"test_new_tensors.py:{line}\b.*not a valid"):
        new_zeros_of_float_shape(torch.randn(5))
