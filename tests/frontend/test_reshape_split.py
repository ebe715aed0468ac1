"""A reshape that splits a dim or merges dims (rope's ``[..., d] -> [..., 2, d // 2]`` and back).

Legal when every dim that changes is a power of two fixed by the specialization (a literal,
or a size whose key says it is a power of two), so the registers hold no padding lanes and
Triton's row-major ``tl.reshape`` moves each element where torch's reshape does. Checked
against torch on odd row counts in the three float dtypes; a size that is not a power of two
raises a ShapeMismatch naming the kernel line.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch
from kcompiler.testing import (
    FLOAT_DTYPES,
    assert_matches_torch,
    call_with_config,
    few_examples,
    tensors,
)

FEW = few_examples(4)


@kc.kernel
def rotate_halves(x: torch.Tensor) -> torch.Tensor:
    m, d = x.shape
    half = d // 2
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        pair = x[tile, :].to(torch.float32).reshape([tile, 2, half]).permute(0, 2, 1)  # <- split
        lo, hi = kl.split(pair)
        joined = kl.join(lo * 0.5 - hi, hi * 2.0 + lo)
        out[tile, :] = joined.permute(0, 2, 1).reshape(tile, d).to(out.dtype)
    return out


def rotate_halves_ref(x: torch.Tensor) -> torch.Tensor:
    lo, hi = x.float().chunk(2, dim=-1)
    return torch.cat([lo * 0.5 - hi, hi * 2.0 + lo], dim=-1).to(x.dtype)


@FEW
@given(st.data())
def test_split_and_merge_match_torch(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 3, 17, 37]))
    d = data.draw(st.sampled_from([2, 16, 64]))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((m, d), dtype))
    assert_matches_torch(rotate_halves, rotate_halves_ref, x)


@kc.kernel(static_shapes=True)
def merge_rows(x: torch.Tensor) -> torch.Tensor:
    b, r, c = x.shape
    out = torch.empty([b, r * c], dtype=x.dtype, device=x.device)
    for tile in kl.tile(b):
        out[tile, :] = x[tile, :, :].reshape(tile, r * c)
    return out


def test_merge_of_static_dims_matches_torch() -> None:
    x = torch.randn(5, 4, 8)
    assert_matches_torch(merge_rows, lambda v: v.reshape(5, 32), x)


def test_split_of_a_padded_size_names_the_line() -> None:
    line = next(i for i, s in enumerate(open(__file__), 1) if "# <- split" in s)
    # d = 12 is held in 16 registers: the split halves would not be torch's.
    with pytest.raises(ShapeMismatch, match=rf"test_reshape_split.py:{line}\b.*not a power of two"):
        rotate_halves(torch.randn(5, 12))


@kc.kernel
def interleave(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    k, n = lo.shape
    out = torch.empty([2 * k, n], dtype=lo.dtype, device=lo.device)
    bk = kl.register_block_size(k)  # fixed in each variant: 2 * bk is a static dim
    for tile in kl.tile(k, block_size=bk):
        pair = torch.stack([lo[tile, :], hi[tile, :]], dim=1)  # [bk, 2, n]
        rows = pair.reshape(tile.block_size * 2, n)  # int4_gemm's unpacking merge
        first = tile.begin * 2
        out[first : first + bk * 2, :] = rows  # the last tile's rows past 2k are clamped
    return out


@pytest.mark.parametrize("k", [8, 13])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_merge_of_a_registered_block_matches_torch(k: int, dtype: torch.dtype) -> None:
    lo, hi = torch.randn(k, 5).to(dtype), torch.randn(k, 5).to(dtype)
    ref = lambda a, b: torch.stack([a, b], 1).reshape(2 * k, 5)  # noqa: E731
    for bk in (4, 8):
        run = lambda a, b, bk=bk: call_with_config(interleave, kc.Config(block_sizes=[bk]), a, b)  # noqa: E731
        assert_matches_torch(run, ref, lo, hi)
