"""``...`` in a tensor index stands for whole slices over the dims no other entry indexes,
as in torch, for loads and stores, before, between or after the other entries."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel
def scale_leading(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, ...] = x[tile, ...] * 2.0
    return out


@kc.kernel
def scale_trailing(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(-1)):
        out[..., tile] = x[..., tile] + 1.0
    return out


@kc.kernel
def middle(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for ta, tc in kl.tile([x.size(0), x.size(2)]):
        out[ta, ..., tc] = x[ta, ..., tc] - 3.0
    return out


@kc.kernel
def first_column(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, ...] = x[tile, ..., 0]
    return out


@kc.kernel
def two_ellipses(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, ...] = x[..., tile, ...]
    return out


def test_ellipsis_before_between_and_after() -> None:
    x = torch.randn(8, 5, 6)
    torch.testing.assert_close(scale_leading(x), x * 2.0)
    torch.testing.assert_close(scale_trailing(x), x + 1.0)
    torch.testing.assert_close(middle(x), x - 3.0)


def test_ellipsis_with_a_scalar_index_and_nothing_left() -> None:
    x = torch.randn(8, 5)
    torch.testing.assert_close(first_column(x), x[:, 0])
    y = torch.randn(16)  # '...' over no dims at all
    torch.testing.assert_close(scale_leading(y), y * 2.0)


def test_two_ellipses_are_a_located_error() -> None:
    with pytest.raises(
        kc.exc.ShapeMismatch,
        match=r"test_ellipsis_index.py:\d+:\d+: an index can hold only one '\.\.\.'",
    ):
        two_ellipses(torch.randn(8, 4))
