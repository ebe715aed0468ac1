"""float8 conversions on the CPU interpreter round and saturate as on a GPU.

Triton's interpreter converts float<->float8 bit by bit and gets carries, ties, subnormals,
NaN and infinity wrong (1.9375 -> 1.0 in float8_e4m3fn); ``backends/triton/interpreter.py``
routes those conversions through torch with the GPU's saturation. Exact equality is the check:
a conversion has one right answer.
"""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl

FP8 = (torch.float8_e4m3fn, torch.float8_e5m2)


@kc.kernel
def cast_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=like.dtype)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile].to(like.dtype)
    return out


@kc.kernel
def store_scaled(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=like.dtype)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 0.5  # float32 math, converted by the store
    return out


def saturated(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """What ``cvt.rn.satfinite`` gives: round to nearest even, clamp finite overflow."""
    limit = torch.finfo(dtype).max
    return x.double().clamp(-limit, limit).to(dtype)


def test_downcast_rounds_to_nearest_even_and_saturates() -> None:
    torch.manual_seed(0)
    # Carries into an odd exponent, ties, subnormals, overflow and the specials.
    edges = [1.9375, 1.96875, 1.0625, 3.875, 0.001, -0.0, 1e-9, 500.0, 7e4, -1e6]
    specials = [float("nan"), float("inf"), -float("inf")]
    x = torch.cat([torch.randn(1001) * 4, torch.tensor(edges + specials)])
    for dtype in FP8:
        for src in (torch.float32, torch.float16, torch.bfloat16):
            xs = x.to(src)
            want = saturated(xs, dtype).view(torch.uint8)
            assert torch.equal(cast_to(xs, torch.empty(0, dtype=dtype)).view(torch.uint8), want)
        got = store_scaled(x, torch.empty(0, dtype=dtype)).view(torch.uint8)
        assert torch.equal(got, saturated(x * 0.5, dtype).view(torch.uint8))


def test_upcast_keeps_nan_and_infinity() -> None:
    for dtype in FP8:
        every = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dtype)
        got = cast_to(every, torch.empty(0, dtype=torch.float32))
        want = every.float()
        assert torch.equal(got.isnan(), want.isnan())
        assert torch.equal(got[~want.isnan()], want[~want.isnan()])
