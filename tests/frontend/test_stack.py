"""``torch.stack`` of blocks: two blocks are a ``kl.join`` (a new last dim of size 2) moved to
``dim`` by a permutation; one block is an unsqueeze. Checked against torch on odd shapes in the
three float dtypes; more than two blocks, or blocks of different shapes, are located errors."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch


def _line(marker: str) -> int:
    return next(i for i, s in enumerate(open(__file__), 1) if f"# <- {marker}" in s)


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
        out[tile, :] = torch.stack([x[tile], x[tile], x[tile]], dim=1)  # <- three
    return out


@kc.kernel(static_shapes=True)
def stack_mismatched(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :, :] = torch.stack([x[tile, :], x[tile, 0]], dim=1)  # <- mismatched
    return out


def test_stack_misuse_names_the_line() -> None:
    with pytest.raises(UnsupportedConstruct, match=rf"test_stack.py:{_line('three')}\b.*of 3"):
        stack_three(torch.randn(5))
    with pytest.raises(ShapeMismatch, match=rf"test_stack.py:{_line('mismatched')}\b.*differ"):
        stack_mismatched(torch.randn(5, 3))
