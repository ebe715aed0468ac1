"""Python int literals beside narrow integer tensors in device code, against torch.

torch converts a Python int to the tensor's integer dtype, wrapping modulo 2^width:
``int8 + 1000`` adds -24, ``uint8 < 1000`` compares with 232, ``uint8 // 300`` divides by 44.
Triton refuses such a literal (out of range, or of another signedness for ``//`` and ``%``),
so the generated code must carry the wrapped value in the operand's dtype.
"""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


@kc.kernel
def with_literals(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    n = x.size(0)
    added = torch.empty_like(x)
    scaled = torch.empty_like(x)
    floored = torch.empty_like(x)
    rest = torch.empty_like(x)
    less = torch.empty([n], dtype=torch.bool, device=x.device)
    for tile in kl.tile(n):
        v = x[tile]
        added[tile] = v + 1000 - 2**40
        scaled[tile] = v * 300
        floored[tile] = v // 300
        rest[tile] = v % 1000
        less[tile] = v < 1000
    return added, scaled, floored, rest, less


def reference(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return x + 1000 - 2**40, x * 300, x // 300, x % 1000, x < 1000


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int16, torch.int32])
def test_out_of_range_literals_wrap_as_in_torch(dtype: torch.dtype) -> None:
    x = torch.tensor([1, -5, 100, 0, 7, -128, 127, 55]).to(dtype)
    assert_matches_torch(with_literals, reference, x)
