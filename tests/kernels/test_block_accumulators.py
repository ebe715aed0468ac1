"""Elementwise accumulators over a ``kl.register_block_size`` block (Helion's long_sum form).

The accumulator has the reduction loop's own dim and lives across the loop: out-of-range lanes
of the ragged last tile must not update it (a masked load gives 0 there), and the block's dim
outside its loop has no bound of its own. Used to fail with an internal KeyError ('block_0')
in codegen; a max over all-negative rows is the case where leaking lanes would show.
"""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


def long_max(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    block_n = kl.register_block_size(n)
    for tile_m in kl.tile(m):
        acc = kl.full([tile_m, block_n], float("-inf"), dtype=x.dtype)
        for tile_n in kl.tile(n, block_size=block_n):
            acc = torch.maximum(acc, x[tile_m, tile_n])
        out[tile_m] = acc.amax(-1)
    return out


def long_sum(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    block_n = kl.register_block_size(n)
    for tile_m in kl.tile(m):
        acc = kl.zeros([tile_m, block_n], dtype=x.dtype)
        for tile_n in kl.tile(n, block_size=block_n):
            acc += x[tile_m, tile_n]
        out[tile_m] = acc.sum(-1)
    return out


@pytest.mark.parametrize("n", [7, 16, 100])  # under one block, one exact block, ragged tail
@pytest.mark.parametrize("peel", [True, False])
def test_max_of_negative_rows_ignores_out_of_range_lanes(
    n: int, peel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "1" if peel else "0")
    k = kc.kernel(config=kc.Config(block_sizes=[16, 4]))(long_max)
    x = -torch.rand(5, n) - 1.0  # all negative: a leaked 0 would be the maximum
    torch.testing.assert_close(k(x), x.amax(-1))


@pytest.mark.parametrize("n", [7, 100])
def test_sum_over_a_registered_block(n: int) -> None:
    k = kc.kernel(config=kc.Config(block_sizes=[16, 4]))(long_sum)
    x = torch.randn(5, n)
    torch.testing.assert_close(k(x), x.sum(-1))
