"""``kl.register_block_size(min, max)``: the minimum bounds the default, the config space and
any config given. A kernel may rely on it (a tile that covers a whole row, whose sum is
stored once per row): ignoring it stored a partial row's sum per tile, a silent wrong result
(Helion's test_2d_tile_inner_dim_reduction_to_scalar, run by benchmarks.helion_tests)."""

from __future__ import annotations

import random

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(static_shapes=True)
def row_sums(w: torch.Tensor) -> torch.Tensor:
    o, d = w.shape
    d = kl.specialize(d)
    out = torch.empty([o], dtype=torch.float32, device=w.device)
    d_block = kl.register_block_size(kc.next_power_of_2(d), kc.next_power_of_2(d))
    for tile_o, tile_d in kl.tile([o, d], block_size=[None, d_block]):
        out[tile_o] = torch.sum(w[tile_o, tile_d].to(torch.float32), dim=-1)
    return out


def test_the_default_honours_the_minimum() -> None:
    w = torch.randn(16, 128)
    torch.testing.assert_close(row_sums(w), w.sum(-1), rtol=1e-5, atol=1e-4)


def test_the_space_never_goes_below_the_minimum() -> None:
    w = torch.randn(16, 128)
    space = row_sums.config_space(w)
    assert space.is_valid(space.default())
    rng = random.Random(0)
    for config in [space.default(), *space.starts(), *(space.sample(rng) for _ in range(8))]:
        assert config["block_sizes"][0] >= 128, config
        torch.testing.assert_close(row_sums.bind(w).run(config), w.sum(-1), atol=1e-4, rtol=1e-5)


def test_a_config_below_the_minimum_is_refused() -> None:
    w = torch.randn(16, 128)
    with pytest.raises(kc.exc.InvalidConfig, match=r"below the minimum 128"):
        row_sums.bind(w).run(kc.Config(block_sizes=[64, 4]))


def test_the_minimum_must_be_a_power_of_two() -> None:
    @kc.kernel
    def bad(x: torch.Tensor) -> torch.Tensor:
        b = kl.register_block_size(48, 128)
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0), block_size=b):
            out[tile] = x[tile]
        return out

    with pytest.raises(kc.exc.InvalidArgument, match="power of two, got 48"):
        bad(torch.zeros(128))
