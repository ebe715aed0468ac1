"""Python numbers beside int8/uint8/int16 and float16 data, and torch keywords, on CUDA: the
generated code wraps an out-of-range int literal into its operand's dtype (typed with
``tl.full`` for unsigned operands) and computes half-precision ops with a float scalar in
float32; both must compile and agree with torch under the GPU's Triton too. The ``cpu`` case
runs the same cases on the interpreter."""

from __future__ import annotations

import pytest
import torch
from gpu_support import DEVICES, import_test_module

from kcompiler.testing import assert_matches_torch

literals = import_test_module("frontend", "test_int_literals")
keywords = import_test_module("frontend", "test_torch_keywords")
half = import_test_module("backends", "test_half_precision")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int16, torch.int32])
def test_int_literals_wrap(device: str, dtype: torch.dtype) -> None:
    x = torch.tensor([1, -5, 100, 0, 7, -128, 127, 55]).to(dtype).to(device)
    assert_matches_torch(literals.with_literals, literals.reference, x)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["div_floor", "div_trunc", "add_alpha", "sub_alpha"])
@pytest.mark.parametrize("dtype", [torch.int32, torch.float16])
def test_keywords(device: str, name: str, dtype: torch.dtype) -> None:
    a, b = keywords.A.to(dtype), keywords.B.to(dtype)
    if dtype.is_floating_point:
        a = a + 0.5
    assert_matches_torch(keywords.KERNELS[name], keywords.OPS[name], a.to(device), b.to(device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k", [1e-8, 1e5])
def test_float_scalar_in_half_math(device: str, k: float) -> None:
    x = torch.tensor([0.0, 1.0, -5.0, 100.0, 1e-3, 3e-5], dtype=torch.float16)
    xf = x.float()
    want = (xf * k + xf / k + xf.abs() ** k).half().to(device)
    torch.testing.assert_close(half.scale_by(x.to(device), k), want, rtol=0, atol=0)
