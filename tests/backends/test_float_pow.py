"""``x ** y`` with a float exponent other than 0.5 and 1..4 is emitted as
``exp2(log2|x| * y)``; these tests hold it to torch.pow where that form alone is NaN or has
the wrong sign: negative bases, zeros, ones and infinities, as tensors and as literals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.config import Config

INF, NAN = float("inf"), float("nan")


@kc.kernel()
def power(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] ** y[tile]
    return out


@kc.kernel()
def literal_powers(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([4, x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        out[0, tile] = v**5
        out[1, tile] = v**-1
        out[2, tile] = v**2.5
        out[3, tile] = v**0
    return out


def test_special_bases_and_exponents_follow_torch() -> None:
    values = [-3.0, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, INF, -INF, NAN]
    exponents = [-3.0, -2.0, -1.0, 0.0, 0.5, -0.5, 1.0, 2.0, 3.0, INF, -INF, NAN]
    x = torch.tensor(values).repeat_interleave(len(exponents))
    y = torch.tensor(exponents).repeat(len(values))
    got, want = power(x, y), x**y
    torch.testing.assert_close(got, want, equal_nan=True)
    signed = ~want.isnan()  # zeros and infinities too: (-0.0) ** 3 is -0.0, (-0.0) ** -1 -inf
    assert torch.equal(got[signed].signbit(), want[signed].signbit())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_signed_bases_with_integer_and_fractional_exponents(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1)
    x = (torch.randn(1000, generator=gen) * 3).to(dtype)
    whole = torch.randint(-4, 6, (500,), generator=gen).float()
    y = torch.cat([whole, torch.randn(500, generator=gen) * 2]).to(dtype)
    want = (x.float() ** y.float()).to(dtype)  # torch's half pow: float32 math, one rounding
    torch.testing.assert_close(power(x, y), want, equal_nan=True)
    got = literal_powers(x)
    for row, p in zip(got, (5, -1, 2.5, 0)):
        torch.testing.assert_close(row, (x.float() ** p).to(dtype), equal_nan=True)


def test_pow_compiles_for_the_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The form is Triton that the GPU compiler takes too, for a tensor and a literal exponent
    (tl.floor, tl.where on a Python float): an sm_90 compile on the CPU."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path))
    x = torch.randn(300, dtype=torch.bfloat16)
    for kernel, args in ((power, (x, x)), (literal_powers, (x,))):
        (record,) = kernel.precompile(
            *args, configs=[Config(block_sizes=[64], num_warps=4)], target="sm_90", workers=1
        )
        assert record.ok, record.first_error
