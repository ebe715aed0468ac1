"""bfloat16 results on the CPU interpreter are rounded to nearest even, as on a GPU and in torch.

Triton's interpreter truncates float32 -> bfloat16; ``backends/triton/interpreter.py`` fixes
that. Exact equality is the check: a conversion has one right answer.
"""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


@kc.kernel
def to_bf16(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.bfloat16)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile].to(torch.bfloat16)
    return out


@kc.kernel
def store_as_bf16(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.bfloat16)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 3.0  # float32 math, converted by the store
    return out


def test_cast_and_store_round_to_nearest_even() -> None:
    x = torch.randn(1001) * 1000
    specials = torch.tensor([float("nan"), float("inf"), -float("inf"), 3.4e38, 1e-40, -0.0])
    x = torch.cat([x, specials])
    got = to_bf16(x)
    assert torch.equal(got.view(torch.int16), x.to(torch.bfloat16).view(torch.int16))
    ints = torch.randint(-(2**15), 2**15 - 1, (777,), dtype=torch.int16)
    assert torch.equal(to_bf16(ints), ints.to(torch.bfloat16))
    y = torch.randn(333)
    assert torch.equal(store_as_bf16(y), (y * 3.0).to(torch.bfloat16))


@kc.kernel(static_shapes=True)
def bf16_x_int16(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    m, k = x.shape
    _, n = w.shape
    out = torch.empty([m, n], dtype=torch.bfloat16)
    for tile_m, tile_n in kl.tile([m, n]):
        acc = kl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in kl.tile(k):
            acc = kl.dot(x[tile_m, tile_k], w[tile_k, tile_n].to(torch.bfloat16), acc=acc)
        out[tile_m, tile_n] = acc.to(torch.bfloat16)
    return out


def test_dot_with_acc_of_bf16_operands_matches_torch() -> None:
    torch.manual_seed(0)
    for m, k, n in ((33, 40, 17), (5, 100, 9)):
        x = torch.randn(m, k, dtype=torch.bfloat16)
        w = torch.randint(-(2**15), 2**15 - 1, (k, n), dtype=torch.int16)

        # float32 accumulation rounds once: the result is the exact product, rounded.
        def exact(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return (x.double() @ w.to(torch.bfloat16).double()).to(torch.bfloat16)

        scale = exact(x, w).float().abs().max().item()
        assert_matches_torch(bf16_x_int16, exact, x, w, atol=scale * 2**-12, rtol=2**-8)
