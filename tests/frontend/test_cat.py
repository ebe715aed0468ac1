"""``torch.cat`` of blocks (frontend/concat.py): a stack of the blocks whose new dim merges
with the concatenated one. Checked against torch on odd shapes in the three float dtypes;
the dim must be a power of two known when the kernel compiles, the blocks equal in shape and
a power of two in number, or a located error says which."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, dtypes, sizes


def _line(marker: str) -> int:
    return next(i for i, s in enumerate(open(__file__), 1) if f"# <- {marker}" in s)


@kc.kernel(static_shapes=False)
def cat_last(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2 * x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], y[tile, :] * 2], dim=-1)
    return out


@kc.kernel(static_shapes=True)
def cat_first(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([2 * x.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(1)):
        out[:, tile] = torch.cat((x[:, tile], y[:, tile] + 1), 0)
    return out


@kc.kernel(static_shapes=True)
def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """RoPE's rotate_half: the halves of the last dim swapped, the first negated."""
    half = x.size(1) // 2
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([-x[tile, half:], x[tile, :half]], dim=-1)
    return out


@kc.kernel(static_shapes=True)
def cat_four(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 4 * x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile, :]
        out[tile, :] = torch.concatenate([v, v + 1, v * 2, -v], axis=1)
    return out


@kc.kernel(static_shapes=False)
def stack_four(x: torch.Tensor) -> torch.Tensor:
    """Four blocks stack as two stacks of pairs, concatenated: with x of width 4 the merged
    dim is the size symbol of 4, which x's own width holds."""
    out = torch.empty([x.size(0), 4, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile, :]
        out[tile, :, :] = torch.stack([v, v + 1, v * 2, -v], dim=1)
    return out


@kc.kernel(static_shapes=True)
def cat_mixed(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Blocks of two dtypes promote as torch.cat does."""
    out = torch.empty([x.size(0), 2 * x.size(1)], dtype=torch.float32, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], y[tile, :]], dim=1)
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cat_matches_torch(dtype: torch.dtype) -> None:
    x, y = torch.randn(17, 8).to(dtype), torch.randn(17, 8).to(dtype)
    assert_matches_torch(cat_last, lambda a, b: torch.cat([a, b * 2], -1), x, y)
    a, b = torch.randn(4, 13).to(dtype), torch.randn(4, 13).to(dtype)
    assert_matches_torch(cat_first, lambda a, b: torch.cat([a, b + 1], 0), a, b)
    r = torch.randn(11, 16).to(dtype)
    assert_matches_torch(rotate_half, lambda r: torch.cat([-r[:, 8:], r[:, :8]], -1), r)
    v = torch.randn(7, 2).to(dtype)
    assert_matches_torch(cat_four, lambda v: torch.cat([v, v + 1, v * 2, -v], 1), v)
    for width in (4, 3):
        w = torch.randn(7, width).to(dtype)
        assert_matches_torch(stack_four, lambda w: torch.stack([w, w + 1, w * 2, -w], 1), w)


def test_cat_promotes_dtypes() -> None:
    x, y = torch.randn(9, 4).to(torch.float16), torch.randn(9, 4)
    assert_matches_torch(cat_mixed, lambda a, b: torch.cat([a, b], 1), x, y)


@settings(max_examples=6, deadline=None)
@given(rows=sizes(max_side=40), width=st.integers(0, 4).map(lambda k: 2**k), dtype=dtypes())
def test_cat_of_any_rows_and_a_power_of_two_width(rows: int, width: int, dtype: torch.dtype):
    x, y = torch.randn(rows, width).to(dtype), torch.randn(rows, width).to(dtype)
    assert_matches_torch(cat_last, lambda a, b: torch.cat([a, b * 2], -1), x, y)


@kc.kernel(static_shapes=True)
def cat_three(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3 * x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], x[tile, :], x[tile, :]], 1)  # <- three
    return out


@kc.kernel(static_shapes=True)
def cat_unequal(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 12], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, 0:4], x[tile, 0:8]], 1)  # <- unequal
    return out


@kc.kernel(static_shapes=True)
def cat_padded(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2 * x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], x[tile, :]], 1)  # <- padded
    return out


@kc.kernel(static_shapes=True)
def cat_tiles(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([2 * x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = torch.cat([x[tile], x[tile]])[: tile.block_size]  # <- tile dim
    return out


@kc.kernel(static_shapes=True)
def cat_fixed_tiles(x: torch.Tensor) -> torch.Tensor:
    block = kl.register_block_size(x.size(0))
    out = torch.zeros([2 * x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0), block_size=block):
        out[tile] = torch.cat([x[tile], x[tile]])[:block]  # <- fixed tile dim
    return out


def test_cat_misuse_names_the_line() -> None:
    x = torch.randn(5, 8)
    with pytest.raises(UnsupportedConstruct, match=rf"test_cat.py:{_line('three')}\b.*of 3"):
        cat_three(x)
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('unequal')}\b.*differ"):
        cat_unequal(x)
    with pytest.raises(
        ShapeMismatch, match=rf"test_cat.py:{_line('padded')}\b.*size 6: it must be a power"
    ):
        cat_padded(torch.randn(5, 6))
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('tile dim')}\b.*block_0"):
        cat_tiles(torch.randn(5))
    # A block fixed by register_block_size is still a tile's: its last tile may be partial.
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('fixed tile dim')}\b.*block_"):
        cat_fixed_tiles(torch.randn(5))
