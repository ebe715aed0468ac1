"""A tile's position (``tile.begin``, ``tile.id``) indexing a size-1 dim broadcasts, as the tile
itself does: flex_attention reads a batch-1 block mask at ``tile_b.begin`` for every batch.
Any other scalar index of a size-1 dim is bounds-checked as usual."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import IndexOutOfBounds
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, call_with_config


@kc.kernel
def scale_rows(x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    b, n = x.shape
    out = torch.empty_like(x)
    for tile_b, tile_n in kl.tile([b, n], block_size=[1, None]):
        s = scales[tile_b.begin, tile_n.id % scales.size(1)]  # scales: [1 or b, k]
        out[tile_b, tile_n] = x[tile_b, tile_n] * s
    return out


def scale_rows_ref(x: torch.Tensor, scales: torch.Tensor, block: int) -> torch.Tensor:
    cols = (torch.arange(x.size(1)) // block) % scales.size(1)
    return x * scales.expand(x.size(0), -1)[:, cols]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("batch_of_scales", [1, 3])
def test_tile_begin_on_a_unit_dim_broadcasts(dtype: torch.dtype, batch_of_scales: int) -> None:
    x = torch.randn(3, 37).to(dtype)
    scales = torch.randn(batch_of_scales, 2).to(dtype)
    got = call_with_config(scale_rows, kc.Config(block_sizes=[1, 8]), x, scales)
    torch.testing.assert_close(got, scale_rows_ref(x, scales, 8), rtol=2e-2, atol=2e-2)


@kc.kernel
def pick_row(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    out = torch.empty([rows.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(rows.size(0), block_size=1):
        out[tile, :] = x[rows[tile.begin], :][None, :]  # <- computed
    return out


def test_a_computed_index_of_a_unit_dim_is_still_checked() -> None:
    x = torch.randn(1, 5)
    assert_matches_torch(pick_row, lambda a, r: a[r], x, torch.tensor([0, 0]))
    line = next(i for i, s in enumerate(open(__file__), 1) if "# <- computed" in s)
    with pytest.raises(IndexOutOfBounds, match=rf"test_unit_dim_positions.py:{line}\b.*size 1"):
        pick_row(x, torch.tensor([0, 1]))
