"""Known-good starting points (``ConfigSpace.starts``): which partial configs become starts,
that every strategy measures them right after the default, and the tensor-core tiles the
runtime derives from a kernel's ``tile.dot``."""

from __future__ import annotations

import random

import pytest
import torch
from autotune_fakes import OPTIMUM, kernel_cost, kernel_space
from test_autotune_strategies import BUILTIN, drive

from kcompiler.autotune import ConfigSpace, get_strategy
from kcompiler.config import Config

GOOD = {"block_sizes[0]": 16, "block_sizes[1]": 512, "num_warps": 8, "num_stages": 4}


def _with_starts(*partials: dict) -> ConfigSpace:
    base = kernel_space()
    return ConfigSpace(base.knobs, base.constraints, starts=partials)


def test_starts_are_laid_over_the_default_and_kept_only_when_valid():
    space = _with_starts(
        GOOD,
        {"block_sizes[0]": 4096, "block_sizes[1]": 4096},  # 2**24 elements: dropped, not shrunk
        {"num_warps": 4},  # the default itself: not a start
        {**GOOD, "no_such_knob": 3},  # unknown names are ignored -> a duplicate of the first
        {"num_stages": 99},  # outside the knob's domain: ignored -> the default
    )
    (start,) = space.starts()
    flat = space.to_flat(start)
    assert {k: flat[k] for k in GOOD} == GOOD
    assert flat["pid_type"] == space.to_flat(space.default())["pid_type"]
    assert space.is_valid(start)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_strategy_measures_the_default_then_the_starts(name: str):
    space = _with_starts(GOOD, {**GOOD, "num_warps": 16})
    strategy = get_strategy(name)(space, random.Random(0), budget=20)
    proposed = drive(strategy, lambda c: kernel_cost(space, c), 12, batch=2)
    assert proposed[:3] == [space.default(), *space.starts()]
    assert len(set(proposed)) == len(proposed)


def test_pattern_search_moves_from_the_best_start():
    space = _with_starts(GOOD)
    strategy = get_strategy("pattern")(space, random.Random(0), budget=40)
    proposed = drive(strategy, lambda c: kernel_cost(space, c), 40)
    neighbors = set(space.neighbors(space.starts()[0]))
    assert set(proposed[2:6]) <= neighbors  # its first poll is around the start
    best = min(proposed, key=lambda c: kernel_cost(space, c))
    assert kernel_cost(space, best) < kernel_cost(space, space.starts()[0])
    assert space.to_flat(best)["block_sizes[1]"] == OPTIMUM["block_sizes[1]"]


# -- tensor-core starts of the bundled kernels (meta tensors: nothing runs) -------------------


def _blocks(config: Config) -> list[int]:
    return list(config["block_sizes"])


@pytest.mark.parametrize(
    ("dtype", "tile"),
    [
        (torch.bfloat16, [128, 256, 64]),
        (torch.float32, [128, 256, 32]),
        # fp8's widening accumulator leaves 128 x 256 out at 8 warps (registers.py): 256 x 128
        (torch.float8_e4m3fn, [256, 128, 128]),
    ],
)
def test_matmul_starts_scale_k_with_the_operand_bytes(dtype: torch.dtype, tile: list[int]):
    from kcompiler.kernels.matmul import matmul_dot

    x = torch.empty(4096, 4096, dtype=dtype, device="meta")
    starts = matmul_dot.config_space(x, x).starts()
    assert starts, "a dot kernel has tensor-core starts"
    first = starts[0]
    assert _blocks(first) == tile
    assert first["num_warps"] == 8 and first["num_stages"] == 3
    assert first["l2_groupings"] == [8]
    assert any(set(c["indexing"]) == {"tensor_descriptor"} for c in starts)


def test_tile_grids_of_dots_tune_the_persistent_schedule():
    from kcompiler.kernels.matmul import matmul_dot
    from kcompiler.kernels.softmax import softmax
    from kcompiler.testing import call_with_config

    x = torch.empty(4096, 4096, dtype=torch.bfloat16, device="meta")
    space = matmul_dot.config_space(x, x)
    assert space.default()["pid_type"] == "flat"
    persistent = [c for c in space.starts() if c["pid_type"] == "persistent_blocked"]
    assert [_blocks(c) for c in persistent][:2] == [[128, 256, 64], [128, 256, 64]]
    assert "pid_type" not in {k.name for k in softmax.config_space(x).knobs}
    # a persistent start (scaled to a small shape) computes the product
    a, b = torch.randn(96, 80), torch.randn(80, 112)
    cfg = Config(
        block_sizes=[32, 32, 16], l2_groupings=[8], num_warps=4, pid_type="persistent_blocked"
    )
    torch.testing.assert_close(call_with_config(matmul_dot, cfg, a, b), a @ b)


def test_attention_starts_tile_queries_and_keys():
    from kcompiler.kernels.attention import attention

    q = torch.empty(4, 48, 4096, 64, dtype=torch.bfloat16, device="meta")
    starts = attention.config_space(q, q, q, False).starts()
    assert [_blocks(c)[2:] for c in starts[:3]] == [[128, 64], [128, 64], [128, 128]]
    assert all(_blocks(c)[:2] == [1, 1] for c in starts)


def test_kernels_without_a_dot_have_no_starts():
    from kcompiler.kernels.softmax import softmax

    x = torch.empty(64, 1024, device="meta")
    assert softmax.config_space(x).starts() == ()
