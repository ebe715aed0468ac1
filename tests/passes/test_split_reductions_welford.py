"""split-reductions, variance: the looped (chunked) form keeps mean and variance accurate.

layer_norm computes ``mean = sum(x) / n`` and ``var = sum((x - mean)**2) / n``. Kept in
registers this is the exact two-pass form; in chunks the pass turns both sums into one loop
of running Welford statistics (Chan et al.'s merge, shifted by the first chunk's mean), see
``tests/filecheck/passes/split_reductions_welford.mlir``. Rows with a large mean
(``1e4 + randn``, float32) are where a sum of squares minus a squared sum loses every digit;
both forms are compared with torch in float64. Triton's CPU interpreter runs the kernels.
"""

from __future__ import annotations

import re

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.testing import call_with_config

# A pass over the row's chunks: whole tiles from 0 to the size, or to full_k when peeled.
PASS = re.compile(r"tl\.range\(0, (?:s1|full_\d+), BLOCK_s1\)")


def _run(kernel: kc.Kernel, chunk: int | None, *args):
    return call_with_config(kernel, kc.Config(reduction_loops=[chunk]), *args)


def _large_mean_rows(m: int, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = 1e4 + torch.randn(m, n, generator=g)
    w, b = torch.randn(n, generator=g), torch.randn(n, generator=g)
    return x, w, b


def _errors(x, w, b, out, mean, rstd, eps: float = 1e-5) -> dict[str, float]:
    """Max errors against float64: |out|, |mean| absolute, rstd relative."""
    xd = x.double()
    var64, mean64 = torch.var_mean(xd, -1, unbiased=False)
    rstd64 = torch.rsqrt(var64 + eps)
    out64 = (xd - mean64[:, None]) * rstd64[:, None] * w.double() + b.double()
    return {
        "out": float((out.double() - out64).abs().max()),
        "mean": float((mean.double() - mean64).abs().max()),
        "rstd": float(((rstd.double() - rstd64) / rstd64).abs().max()),
    }


# float32 spaces numbers near 1e4 9.8e-4 apart, so a float32 mean is off by up to about half of
# that, and x - mean carries the error into the output (times the weight). Measured (2 rows,
# 1e4 + randn): Welford in chunks, N=2**17: out 6.4e-4, mean 1.4e-4, rstd 9e-8 (chunk 1024),
# the same as the whole row in registers; the plain chunked sums they replace gave out 9.3e-3,
# mean 2.0e-3 (chunk 1024) and 1.3e-2, 2.8e-3 (chunk 64); torch's float32 layer_norm: 4.1e-3.
ULP_1E4 = 2.0**-10


def _bounds(w: torch.Tensor) -> dict[str, float]:
    return {"mean": ULP_1E4, "out": ULP_1E4 * float(w.abs().max()), "rstd": 5e-6}


@pytest.mark.parametrize(
    "n,chunk",
    [
        (1 << 17, None),  # the whole row in registers (two-pass)
        (1 << 17, 1024),
        (1 << 17, 8192),
        ((1 << 16) + 3, 4096),  # odd N: the last chunk is partial
        (4097, 64),
        (1000, 256),  # one partial chunk
        (3, 16),
    ],
)
def test_layer_norm_large_mean_matches_float64(n: int, chunk: int | None) -> None:
    x, w, b = _large_mean_rows(2, n)
    out, mean, rstd = _run(layer_norm_fwd, chunk, x, [n], w, b, 1e-5)
    err = _errors(x, w, b, out, mean, rstd)
    for key, bound in _bounds(w).items():
        assert err[key] <= bound, f"n={n} chunk={chunk}: {key} error {err[key]:.2e} > {bound}"


@pytest.mark.parametrize("n,chunk", [(777, 64), (5000, 512)])
def test_layer_norm_both_forms_match_torch(n: int, chunk: int) -> None:
    """Ordinary data, no bias, several rows: both forms give torch's layer_norm."""
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(5, n, generator=g) * 3 + 0.5, torch.randn(n, generator=g)
    want = torch.nn.functional.layer_norm(x, [n], w, None, 1e-5)
    var, mu = torch.var_mean(x, -1, unbiased=False)
    for c in (None, chunk):
        out, mean, rstd = _run(layer_norm_fwd, c, x, [n], w, None, 1e-5)
        torch.testing.assert_close(out, want, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(mean, mu, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(rstd, torch.rsqrt(var + 1e-5), atol=1e-5, rtol=1e-5)


def test_layer_norm_half_precision_chunked() -> None:
    x = (torch.randn(3, 1001) * 2 + 5).to(torch.bfloat16)
    w, b = torch.randn(1001).to(torch.bfloat16), torch.randn(1001).to(torch.bfloat16)
    want = torch.nn.functional.layer_norm(x.float(), [1001], w.float(), b.float(), 1e-5)
    for chunk in (None, 128):
        out = _run(layer_norm_fwd, chunk, x, [1001], w, b, 1e-5)[0]
        torch.testing.assert_close(out.float(), want, atol=6e-2, rtol=6e-2)


def test_layer_norm_chunked_is_two_loops() -> None:
    """Statistics in one pass over x (not two), then the normalized store."""
    x, w, b = torch.randn(4, 5000), torch.randn(5000), torch.randn(5000)
    code = layer_norm_fwd.to_triton_code(
        x, [5000], w, b, 1e-5, config=kc.Config(reduction_loops=[256])
    )
    # Passes over the row: loops from 0 (a ragged size adds a peeled copy from full_k; its
    # loads repeat the pass's, so x is read by 2 loads per pass).
    assert len(PASS.findall(code)) == 2
    assert code.count("tl.load(x_ptr") == 2 * 2
    plain = layer_norm_fwd.to_triton_code(
        x, [5000], w, b, 1e-5, config=kc.Config(reduction_loops=[None])
    )
    assert "tl.range" not in plain


@kc.kernel
def _row_var(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """var_mean by hand: keepdim mean, ``mean - x`` and ``** 2`` (another spelling)."""
    m, n = x.size()
    mean = torch.empty([m], dtype=torch.float32, device=x.device)
    var = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :].to(torch.float32)
        mu = torch.mean(v, dim=-1, keepdim=True)
        d = mu - v
        vv = torch.mean(d**2, dim=-1)
        mean[tile_m] = torch.sum(v, dim=-1) / n  # also read off the Welford statistics
        var[tile_m] = vv
    return var, mean


@kc.kernel
def _row_var_naive(x: torch.Tensor) -> torch.Tensor:
    """E[x^2] - E[x]^2: what Welford avoids (it cancels for rows with a large mean)."""
    m, n = x.size()
    var = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :]
        mu = torch.sum(v, dim=-1) / n
        var[tile_m] = torch.sum(v * v, dim=-1) / n - mu * mu
    return var


@pytest.mark.parametrize("n,chunk", [(1 << 17, 2048), (3001, 64), (3001, None)])
def test_var_mean_spelling_large_mean(n: int, chunk: int | None) -> None:
    x = _large_mean_rows(3, n, seed=2)[0]
    var64, mean64 = torch.var_mean(x.double(), -1, unbiased=False)
    var, mean = _run(_row_var, chunk, x)
    assert float(((var.double() - var64) / var64).abs().max()) < 1e-5
    assert float((mean.double() - mean64).abs().max()) < ULP_1E4
    if chunk is not None:
        code = _row_var.to_triton_code(x, config=kc.Config(reduction_loops=[chunk]))
        assert len(PASS.findall(code)) == 1  # one pass: Welford


def test_naive_variance_is_what_welford_avoids() -> None:
    """The same rows through E[x^2] - E[x]^2: float32 loses the variance entirely."""
    x = _large_mean_rows(2, 4096, seed=3)[0]
    var64 = torch.var(x.double(), -1, unbiased=False)
    naive = _run(_row_var_naive, 256, x)
    assert float(((naive.double() - var64) / var64).abs().max()) > 0.5
    welford, _ = _run(_row_var, 256, x)
    assert float(((welford.double() - var64) / var64).abs().max()) < 1e-5
