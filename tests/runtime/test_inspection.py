"""A kernel's public inspection surface (``Kernel.bind`` -> ``BoundKernel``, the variant and
fast-path views) and the compile layer it reaches: what they report matches what calls do."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.compiler import CompiledLoop, CompileSettings, compile_loop, validate_config
from kcompiler.exc import InvalidArgument, InvalidConfig
from kcompiler.runtime.kernel import BoundKernel


@kc.kernel()
def add_then_scale(x: torch.Tensor, y: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + y[tile]
    for tile in kl.tile(x.size(0)):
        out[tile] = out[tile] * factor
    return out


@pytest.fixture(autouse=True)
def _fresh() -> None:
    add_then_scale.clear_caches(traces=True)


def test_bind_checks_the_arguments_and_fills_defaults() -> None:
    x = torch.randn(16)
    bound = add_then_scale.bind(x, y=x)
    assert isinstance(bound, BoundKernel)
    assert list(bound.arguments) == ["x", "y", "factor"] and bound.arguments["factor"] == 2.0
    with pytest.raises(InvalidArgument, match="add_then_scale"):
        add_then_scale.bind(x)


def test_bound_kernel_inspects_without_launching() -> None:
    x = torch.randn(40)
    bound = add_then_scale.bind(x, x, 3.0)
    assert bound.config() == kc.Config()
    loops = bound.device_loops()
    assert [i for i, _ in loops] == [0, 1] and loops[1][1]["factor"] == 3.0
    modules = bound.traced_modules()
    assert len(modules) == 2 and "tile.kernel" in bound.to_ir()
    config = kc.Config(block_sizes=[8, 16])
    variants = bound.compile(config)
    assert all(isinstance(v, CompiledLoop) for v in variants)
    assert [v.block_sizes["block_0"] for v in variants[:1]] == [8]
    assert bound.to_triton_code(config) == "\n\n".join(v.source for v in variants)
    assert [s for s, _, _ in bound.generated_launches(config)] == [v.source for v in variants]
    assert add_then_scale.compiled_variants() == variants  # compiled, never launched
    stats = add_then_scale.fast_path_stats()
    assert (stats.misses, stats.last_hits) == (0, 0)  # no call took the fast path's slow side
    assert bound.config_space().default() is not None


def test_run_and_run_host() -> None:
    x = torch.randn(40)
    bound = add_then_scale.bind(x, x, 3.0)
    torch.testing.assert_close(bound.run(kc.Config(block_sizes=[8, 8])), (x + x) * 3.0)
    assert bound.run_host().shape == x.shape  # the host code's result, nothing launched


def test_fast_path_views_follow_the_calls() -> None:
    x = torch.randn(32)
    add_then_scale(x, x)
    add_then_scale(x, x)
    stats = add_then_scale.fast_path_stats()
    assert (stats.entries, stats.last_hits) == (2, 2)  # one entry per device loop
    assert len(add_then_scale.fast_path_entries()) == 2
    assert len(add_then_scale.fast_path_entries(last_hits=True)) == 2
    misses = stats.misses
    add_then_scale(torch.randn(64), torch.randn(64))  # another size bucket: two misses
    assert add_then_scale.fast_path_stats().misses == misses + 2
    (index, env), _ = add_then_scale.bind(x, x).device_loops()
    entry_keys = {add_then_scale.fast_path_key(index, env, kc.Config())}
    assert len(entry_keys) == 1
    add_then_scale.clear_caches()
    assert add_then_scale.fast_path_stats().entries == 0
    assert add_then_scale.compiled_variants()  # kept unless variants=True
    add_then_scale.clear_caches(variants=True)
    assert add_then_scale.compiled_variants() == []


def test_the_compile_layer_on_its_own() -> None:
    x = torch.randn(16)
    add_then_scale(x, x)  # traces both loops, so the request has the kernel's block count
    (index, env), _ = add_then_scale.bind(x, x).device_loops()
    via_kernel = add_then_scale.compile_loop(index, env, kc.Config(block_sizes=[4]))
    module, spec = add_then_scale.trace_loop(index, env)
    from kcompiler.compiler import BlocksView, CompileRequest

    request = CompileRequest(module, spec, BlocksView({}, {}, 2))
    direct = compile_loop(request, kc.Config(block_sizes=[4]), CompileSettings(interpret=True))
    assert direct.source == via_kernel.source and direct.params == via_kernel.params
    with pytest.raises(InvalidConfig, match="block_sizes"):
        compile_loop(request, kc.Config(block_sizes=[4, 4, 4]), CompileSettings(interpret=True))
    with pytest.raises(InvalidConfig, match="num_warps"):
        validate_config(kc.Config(num_warps=3))
