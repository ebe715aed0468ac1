"""``torch.cat`` of blocks (frontend/concat.py): a stack of the blocks whose new dim merges
with the concatenated one where that fits (a power of two of equal blocks whose size is a
power of two), else ``tile.concat`` (unequal sizes, three blocks, sizes that are not powers
of two). Checked against torch on odd shapes in the three float dtypes; a size along the
dim that is not known when the kernel compiles (a tile's block, a dynamic size), or blocks
that differ in another dim, are located errors."""

from __future__ import annotations

from pathlib import Path

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
        out[tile, :] = torch.cat([x[tile, :], x[tile, :] * 2, -x[tile, :]], 1)
    return out


@kc.kernel(static_shapes=True)
def cat_slices(x: torch.Tensor) -> torch.Tensor:
    """Unequal static widths: 4 then 8 columns (12, held in 16 lanes)."""
    out = torch.empty([x.size(0), 12], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, 0:4], x[tile, 0:8] + 1], 1)
    return out


@kc.kernel(static_shapes=True)
def cat_rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unequal sizes along dim 0, the tiled dim last."""
    out = torch.empty([x.size(0) + y.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(1)):
        out[:, tile] = torch.cat((x[:, tile], y[:, tile] * 2), 0)
    return out


@kc.kernel(static_shapes=True)
def cat_3(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    width = x.size(1) + y.size(1) + z.size(1)
    out = torch.empty([x.size(0), width], dtype=torch.float32, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], y[tile, :], z[tile, :]], dim=-1).float()
    return out


@kc.kernel(static_shapes=True)
def cat_then_reduce(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The padding lanes of the concatenated dim (48 of 64 here) stay out of reductions."""
    out = torch.empty([x.size(0), 3], dtype=torch.float32, device=x.device)
    for tile in kl.tile(x.size(0)):
        c = torch.cat([x[tile, :], y[tile, :]], dim=1).float()
        out[tile, 0] = c.sum(1)
        out[tile, 1] = c.amax(1)
        out[tile, 2] = torch.softmax(c, dim=1).amin(1)
    return out


def cat_then_reduce_ref(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    c = torch.cat([x, y], 1).float()
    return torch.stack([c.sum(1), c.amax(1), torch.softmax(c, 1).amin(1)], 1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cat_of_unequal_and_odd_blocks_matches_torch(dtype: torch.dtype) -> None:
    x = torch.randn(9, 8).to(dtype)
    assert_matches_torch(cat_three, lambda a: torch.cat([a, a * 2, -a], 1), x)
    assert_matches_torch(cat_slices, lambda a: torch.cat([a[:, :4], a[:, :8] + 1], 1), x)
    a, b = torch.randn(3, 13).to(dtype), torch.randn(6, 13).to(dtype)
    assert_matches_torch(cat_rows, lambda a, b: torch.cat([a, b * 2], 0), a, b)
    p, q = torch.randn(7, 16).to(dtype), -torch.rand(7, 32).to(dtype) - 1
    assert_matches_torch(cat_then_reduce, cat_then_reduce_ref, p, q)
    six = torch.randn(5, 6).to(dtype)
    assert_matches_torch(cat_padded, lambda a: torch.cat([a, a], 1), six)


def test_cat_of_unequal_blocks_promotes_dtypes() -> None:
    x, y, z = torch.randn(5, 4).half(), torch.randn(5, 3), torch.randn(5, 1).bfloat16()
    assert_matches_torch(cat_3, lambda a, b, c: torch.cat([a, b, c], -1).float(), x, y, z)


@settings(max_examples=6, deadline=None)
@given(
    rows=sizes(max_side=40),
    widths=st.lists(st.integers(1, 40), min_size=2, max_size=3),
    dtype=dtypes(),
    data=st.data(),
)
def test_cat_of_any_widths_matches_torch(
    rows: int, widths: list[int], dtype: torch.dtype, data: st.DataObject
) -> None:
    blocks = [data.draw(tensors((rows, w), dtype)) for w in widths]
    while len(blocks) < 3:  # a width-0 third block: torch.cat keeps the other two
        blocks.append(torch.randn(rows, 0).to(dtype))
    assert_matches_torch(cat_3, lambda a, b, c: torch.cat([a, b, c], -1).float(), *blocks)


@kc.kernel(static_shapes=True)
def cat_padded(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2 * x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], x[tile, :]], 1)
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


@kc.kernel(static_shapes=True)
def cat_other_dim_differs(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0) + y.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(1)):
        out[:, tile] = torch.cat([x[:, tile], y[:, :]], 0)  # <- other dim
    return out


@kc.kernel(static_shapes=False)
def cat_dynamic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), x.size(1) + y.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.cat([x[tile, :], y[tile, :]], dim=1)  # <- dynamic
    return out


def test_cat_misuse_names_the_line() -> None:
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('tile dim')}\b.*block_0"):
        cat_tiles(torch.randn(5))
    # A block fixed by register_block_size is still a tile's: its last tile may be partial.
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('fixed tile dim')}\b.*block_"):
        cat_fixed_tiles(torch.randn(5))
    with pytest.raises(
        ShapeMismatch, match=rf"test_cat.py:{_line('other dim')}\b.*torch.cat along dim 0: .*differ"
    ):
        cat_other_dim_differs(torch.randn(3, 4), torch.randn(5, 6))
    # Dynamic widths that are not powers of two are not known when the kernel compiles; nor
    # is a sum of fixed ones a size the output's unfixed dim is known to have.
    with pytest.raises(
        ShapeMismatch,
        match=rf"test_cat.py:{_line('dynamic')}\b.*size s\d+: it must be a size known",
    ):
        cat_dynamic(torch.randn(5, 5), torch.randn(5, 7))
    with pytest.raises(ShapeMismatch, match=rf"test_cat.py:{_line('dynamic')}\b.*dim s\d+ vs 48"):
        cat_dynamic(torch.randn(5, 16), torch.randn(5, 32))


@kc.kernel(static_shapes=True)
def stack_three(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 3], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.stack([x[tile], x[tile] + 1, x[tile] * 2], dim=1)
    return out


def test_concat_compiles_for_sm_90(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tl.gather of a register block into wider lanes is GPU code the interpreter does not
    check: compile it (and a one-lane stack's broadcasts) for sm_90 here, through ptxas."""
    pytest.importorskip("triton.backends.nvidia")
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    for kernel, args in (
        (cat_slices, (torch.randn(9, 8).bfloat16(),)),
        (stack_three, (torch.randn(13).half(),)),
    ):
        config = kc.Config(block_sizes=[16], num_warps=4)
        (record,) = kernel.precompile(*args, configs=[config], target="sm_90", workers=1)
        assert record.ok, (record.error, [b.error for b in record.binaries])
