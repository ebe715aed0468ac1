"""``torch.lerp`` and ``torch.var_mean`` in device code, against torch."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel
def lerp_rows(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor, s: float) -> torch.Tensor:
    out = torch.empty_like(a)
    out2 = torch.empty_like(a)
    for tile in kl.tile(a.size(0)):
        out[tile, :] = torch.lerp(a[tile, :], b[tile, :], w[tile, :])
        out2[tile, :] = torch.lerp(a[tile, :], b[tile, :], s)
    return out + out2


@kc.kernel
def var_mean_rows(x: torch.Tensor, correction: int) -> torch.Tensor:
    out = torch.empty([x.size(0), 2], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        var, mean = torch.var_mean(x[tile, :], dim=-1, correction=correction)
        out[tile, 0] = var
        out[tile, 1] = mean
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("s", [0.25, 1.0])
def test_lerp_matches_torch(dtype: torch.dtype, s: float) -> None:
    a, b = torch.randn(8, 33).to(dtype), torch.randn(8, 33).to(dtype)
    w = (torch.rand(8, 33) * 1.5 - 0.25).to(dtype)  # both formulas' ranges, and w = 1 below
    w[0] = 1.0
    want = torch.lerp(a, b, w) + torch.lerp(a, b, s)
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(lerp_rows(a, b, w, s), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("correction", [0, 1])
def test_var_mean_matches_torch(correction: int) -> None:
    x = torch.randn(8, 100) * 3 + 1
    var, mean = torch.var_mean(x, dim=-1, correction=correction)
    torch.testing.assert_close(var_mean_rows(x, correction), torch.stack([var, mean], -1))
