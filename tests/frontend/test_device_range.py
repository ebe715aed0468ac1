"""``range`` with a run-time bound in device code: a sequential loop, as ``kl.grid``.

``range(n)`` over Python ints is unrolled when the kernel compiles; over an int argument or a
loaded scalar (the linear-attention examples' ``range(n_doublings - 1)``) Python's range would
ask a device value for an int, so it becomes a ``tl.range`` loop whose carried values work as
in a tile loop. The results are compared with the same Python run on torch tensors.
"""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


@kc.kernel
def horner(x: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile]
        for i in range(n - 1):
            acc = acc * x[tile] + i
        out[tile] = acc
    return out


def _horner(x: torch.Tensor, n: int) -> torch.Tensor:
    acc = x.clone()
    for i in range(n - 1):
        acc = acc * x + i
    return acc


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_range_over_an_int_argument(n: int) -> None:
    assert_matches_torch(horner, _horner, torch.randn(37) * 0.5, n)


@kc.kernel
def repeated_rows(x: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros_like(x)
    for g in kl.grid(m):
        total = kl.zeros([n], dtype=x.dtype)
        for _ in range(1, counts[g] + 1):  # a loaded bound, and a start
            total = total + x[g, :]
        out[g, :] = total
    return out


def test_range_over_a_loaded_scalar() -> None:
    x, counts = torch.randn(5, 19), torch.tensor([0, 3, 1, 4, 2])
    assert_matches_torch(repeated_rows, lambda x, c: x * c[:, None].to(x.dtype), x, counts)
