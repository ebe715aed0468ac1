"""FP8 GEMM: e4m3 inputs, per-tensor scales, float32 accumulation, bf16 output.

The fp8 tiles go to ``tl.dot`` as they are loaded (tensor cores take e4m3 on Hopper and
Ada; y K-major, i.e. column-major: a row-major y is copied once); the per-tensor scales are
applied once to the float32 accumulator in the epilogue, as ``torch._scaled_mm`` does.
"""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(config=kc.Config(block_sizes=[64, 64], num_warps=4))
def k_major(y: torch.Tensor) -> torch.Tensor:
    """``y`` copied into column-major (K-major) storage: ``y.t().contiguous().t()`` in one
    tiled pass. Each tile is read along y's rows and written along the copy's columns (Triton
    gives the load and the store each a coalesced layout), where torch's eager strided copy
    reads or writes one of them across rows."""
    k, n = y.size()
    out = torch.empty([n, k], dtype=y.dtype, device=y.device).t()
    for tile_k, tile_n in kl.tile([k, n]):
        out[tile_k, tile_n] = y[tile_k, tile_n]
    return out


@kc.kernel
def fp8_gemm(
    x: torch.Tensor,
    y: torch.Tensor,
    scale_a: torch.Tensor,
    scale_b: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """``(x * scale_a) @ (y * scale_b)`` in ``out_dtype``: x [m, k], y [k, n] fp8; scales are
    one-element float32 tensors (shape [] or [1])."""
    m, k = x.size()
    k2, n = y.size()
    assert k == k2, f"size mismatch {k} != {k2}"
    assert scale_a.numel() == 1 and scale_b.numel() == 1, "per-tensor scales only"
    if y.stride(0) != 1 and n > 1:
        # Hopper's fp8 MMA reads both operands K-major; from a row-major y Triton falls back to
        # a slower path (benchmarks/results/h100/session3/probe-fp8-accumulate.txt). One
        # transposing copy, the one
        # torch._scaled_mm asks of its caller; a weight w [n, k] passed as w.t() needs none.
        y = k_major(y)
    sa = scale_a.reshape(1)
    sb = scale_b.reshape(1)
    out = torch.empty([m, n], dtype=out_dtype, device=x.device)
    for tile_m, tile_n in kl.tile([m, n]):
        acc = kl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in kl.tile(k):
            acc = kl.dot(x[tile_m, tile_k], y[tile_k, tile_n], acc=acc)
        out[tile_m, tile_n] = acc * (sa[0] * sb[0])
    return out


def fp8_gemm_reference(
    x: torch.Tensor,
    y: torch.Tensor,
    scale_a: torch.Tensor,
    scale_b: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """Dequantize to float32, multiply, round once (what ``torch._scaled_mm`` computes)."""
    return ((x.float() @ y.float()) * (scale_a.float() * scale_b.float())).to(out_dtype)
