"""``tile.count``: how many tiles its loop has, ``cdiv(end - begin, block_size)``, in every
tile of the loop, at any block size; a located error on a grid loop's index."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel
def counts(x: torch.Tensor, begin: int) -> torch.Tensor:
    out = torch.zeros_like(x, dtype=torch.int32)
    for tile in kl.tile(begin, x.size(0)):
        out[tile] = tile.count
    return out


@kc.kernel
def grid_count(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x, dtype=torch.int32)
    for i in kl.grid(x.size(0)):
        out[i] = i.count
    return out


@pytest.mark.parametrize("block", [16, 32, 128])
@pytest.mark.parametrize(("n", "begin"), [(100, 0), (97, 10), (64, 0)])
def test_tile_count_is_the_loops_tile_count(n: int, begin: int, block: int) -> None:
    x = torch.zeros(n)
    out = counts.bind(x, begin).run(kc.Config(block_sizes=[block]))
    want = torch.zeros(n, dtype=torch.int32)
    want[begin:] = -(-(n - begin) // block)
    torch.testing.assert_close(out, want)


def test_tile_count_of_a_grid_is_a_located_error() -> None:
    with pytest.raises(kc.exc.CompileError, match=r"test_tile_count.py:\d+:\d+: .*'count'"):
        grid_count(torch.zeros(8))
