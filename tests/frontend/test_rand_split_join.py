"""``kl.rand`` (Philox uniform numbers fixed by each element's position, so independent of
block sizes), ``kl.split`` and ``kl.join`` (a last dim of size 2)."""

from __future__ import annotations

import inspect

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch
from kcompiler.testing import assert_matches_torch, call_with_config


@kc.kernel
def dropout(x: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([m, n]):
        keep = kl.rand([tile_m, tile_n], seed) >= p
        out[tile_m, tile_n] = torch.where(keep, x[tile_m, tile_n] / (1 - p), 0.0)
    return out


@kc.kernel
def uniform(x: torch.Tensor, seed: int) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m in kl.tile(m):
        out[tile_m, :] = kl.rand([tile_m, n], seed)
    return out


def test_rand_is_uniform_deterministic_and_independent_of_block_sizes() -> None:
    x = torch.ones(37, 19)
    a = call_with_config(uniform, kc.Config(block_sizes=[4]), x, 123)
    b = call_with_config(uniform, kc.Config(block_sizes=[16]), x, 123)
    c = call_with_config(uniform, kc.Config(block_sizes=[4]), x, 124)
    assert torch.equal(a, b)  # the same element draws the same number
    assert not torch.equal(a, c)  # another seed, other numbers
    assert 0.0 <= a.min() and a.max() < 1.0
    assert abs(a.mean().item() - 0.5) < 0.05 and abs(a.var().item() - 1 / 12) < 0.02
    assert a.flatten().unique().numel() > 0.99 * a.numel()
    d = call_with_config(dropout, kc.Config(block_sizes=[8, 4]), x, 0.0, 123)
    assert torch.equal(d, x)  # p = 0 keeps everything
    tiled = call_with_config(dropout, kc.Config(block_sizes=[8, 4]), x, 0.5, 123)
    assert torch.equal(tiled != 0, a >= 0.5)  # one iteration space, one numbering


@kc.kernel
def dice(x: torch.Tensor, seed: int) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.int32)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.randint([tile], -3, 4, seed)
    return out


def test_randint_covers_its_range_and_is_independent_of_block_sizes() -> None:
    x = torch.empty(2000)
    a = call_with_config(dice, kc.Config(block_sizes=[64]), x, 5)
    b = call_with_config(dice, kc.Config(block_sizes=[256]), x, 5)
    assert a.dtype == torch.int32 and torch.equal(a, b)
    assert set(a.tolist()) == set(range(-3, 4))  # every value of [low, high), no other
    counts = torch.bincount((a + 3).long(), minlength=7).float()
    assert (counts - 2000 / 7).abs().max() < 100


@kc.kernel(static_shapes=True)  # the last dim is the literal 2
def swap_halves(x: torch.Tensor) -> torch.Tensor:
    m, two = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        lo, hi = kl.split(x[tile, :])
        out[tile, :] = kl.join(hi * 2, lo)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_split_and_join(dtype) -> None:
    for m in (1, 3, 17):
        x = torch.randn(m, 2).to(dtype)
        assert_matches_torch(swap_halves, lambda x: torch.stack([x[:, 1] * 2, x[:, 0]], -1), x)


@kc.kernel(static_shapes=True)
def split_of_wide(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        lo, hi = kl.split(x[tile, :])  # BAD
        out[tile, :] = x[tile, :]
    return out


@kc.kernel
def rand_float_seed(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = kl.rand([tile], 0.5)  # BAD
    return out


@pytest.mark.parametrize(
    "kernel, args, message",
    [
        (split_of_wide, (torch.randn(4, 3),), "last dim of size 2"),
        (rand_float_seed, (torch.randn(4),), "seed must be an integer scalar"),
    ],
)
def test_misuse_is_located(kernel, args, message) -> None:
    with pytest.raises(ShapeMismatch, match=message) as info:
        kernel(*args)
    lines, start = inspect.getsourcelines(kernel.fn)
    line = start + next(i for i, ln in enumerate(lines) if "# BAD" in ln)
    assert f":{line}:" in str(info.value)
