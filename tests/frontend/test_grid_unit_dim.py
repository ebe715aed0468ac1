"""A size-1 tensor dim read or written whole (``x[g, :]`` of an (m, 1) tensor) inside a
``kl.grid`` loop: the unit dim is index 0, not the grid loop's index (whose block symbol is
also ``1``). Reading x[g, g] instead returned wrong values and wrote past the output."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


@kc.kernel
def rows_times_two(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros_like(x)
    for g in kl.grid(m):
        out[g, :] = x[g, :] * 2.0
    return out


def test_unit_dim_inside_a_grid_loop() -> None:
    for m, n in ((5, 1), (1, 1), (17, 1), (4, 3)):
        x = torch.randn(m, n)
        assert_matches_torch(rows_times_two, lambda x: x * 2.0, x)
