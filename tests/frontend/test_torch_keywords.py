"""Keyword arguments of torch calls in device code: implemented, or refused at the user's line.

A keyword that changes what a torch function computes (``alpha=`` of torch.add,
``rounding_mode=`` of torch.div, ``dtype=`` of a reduction) must be applied; one that a
handler does not implement raises a located error, never a silently different result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch, marker_line


def rows_kernel(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> kc.Kernel:
    """``out[tile, :] = fn(x[tile, :], y[tile, :])``; out has fn's dtype on the host."""

    def rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.empty(x.shape, dtype=fn(x[:1], y[:1]).dtype, device=x.device)
        for tile in kl.tile(x.size(0)):
            out[tile, :] = fn(x[tile, :], y[tile, :])
        return out

    return kc.kernel(rows)


OPS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "div_floor": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    "div_none": lambda a, b: torch.div(a, b, rounding_mode=None),
    "method_div_trunc": lambda a, b: a.div(b, rounding_mode="trunc"),
    "add_alpha": lambda a, b: torch.add(a, b, alpha=3),
    "sub_alpha": lambda a, b: torch.sub(a, b, alpha=2),
    "method_add_alpha": lambda a, b: a.add(b, alpha=-2),
}
KERNELS = {name: rows_kernel(fn) for name, fn in OPS.items()}

# Both signs of both operands, and quotients that floor and truncation round apart.
A = torch.tensor([[-7, -6, -1, 0, 1, 5, 7, -3, 100, -100, 9, -9]])
B = torch.tensor([[2, -4, 3, 5, -2, 3, -3, -3, 7, 7, -4, 4]])


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.float32, torch.float16])
@pytest.mark.parametrize("name", list(OPS))
def test_keywords_that_change_the_result_are_applied(name: str, dtype: torch.dtype) -> None:
    a, b = A.to(dtype), B.to(dtype)
    if dtype.is_floating_point:
        a = a + 0.5  # fractional quotients
    assert_matches_torch(KERNELS[name], OPS[name], a, b)


@kc.kernel
def sums_in_dtype(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    m = x.size(0)
    total = torch.empty([m], dtype=torch.float32)
    method = torch.empty([m], dtype=torch.float32)
    mean = torch.empty([m], dtype=torch.float32)
    for tile in kl.tile(m):
        total[tile] = torch.sum(x[tile, :], -1, dtype=torch.float32)
        method[tile] = x[tile, :].sum(-1, dtype=torch.float32)
        mean[tile] = torch.mean(x[tile, :], -1, dtype=torch.float32)
    return total, method, mean


def test_reduction_dtype_converts_before_reducing() -> None:
    """A float16 row summed with dtype=float32 keeps float32's precision: the sum of 2048 + 1
    and 1s is exact in float32, not in float16 (whose spacing at 2048 is 2)."""
    x = torch.ones(3, 65, dtype=torch.float16)
    x[:, 0] = 2048
    want = (
        torch.sum(x, -1, dtype=torch.float32),
        x.sum(-1, dtype=torch.float32),
        torch.mean(x, -1, dtype=torch.float32),
    )
    assert_matches_torch(sums_in_dtype, lambda x: want, x, rtol=0.0, atol=0.0)


@kc.kernel
def unimplemented_keyword(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.sigmoid(x[tile, :], out=x[tile, :])  # <- unimplemented
    return out


def test_an_unimplemented_keyword_is_a_located_error() -> None:
    with pytest.raises(kc.exc.UnsupportedConstruct) as info:
        unimplemented_keyword(torch.randn(4, 5))
    message = str(info.value)
    line = marker_line(__file__, "unimplemented")
    assert re.search(rf"test_torch_keywords\.py:{line}\b", message), message
    assert "torch.sigmoid(..., out=...)" in message, message
