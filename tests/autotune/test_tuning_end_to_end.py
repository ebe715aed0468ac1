"""The tuner on real kernels through the interpreter: its correctness gate rejects a config
that computes something else, and its cache never serves one tuning's result to another
(dtype, shape, strides, config space, versions)."""

from __future__ import annotations

import itertools

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.autotune import WrongResult, make_key
from kcompiler.runtime.tuning import KernelTarget, tuning_spec


@kc.kernel
def add_block_size(x: torch.Tensor) -> torch.Tensor:
    """A kernel whose output depends on the config (a planted wrong config): the block size
    is added to every element, so only the default's block size reproduces the default."""
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + tile.block_size
    return out


@kc.kernel
def double(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 2
    return out


def test_a_config_with_another_result_is_rejected_by_the_real_gate():
    x = torch.randn(100)
    target = KernelTarget(add_block_size, (x,), {})
    default = target.space.default()
    other = default.replace(block_sizes=[default.block_sizes[0] // 2])
    assert target.benchmark(default) >= 0
    with pytest.raises(WrongResult, match="add_block_size: output differs from the default"):
        target.benchmark(other)


def test_benchmark_checks_and_times_the_users_call_path(monkeypatch):
    """A measurement is one checked call and one timed call, both through the call path users
    take (mode "run": the fast path and its launch), so the time is that of the kernel run."""
    x = torch.randn(100)
    target = KernelTarget(double, (x,), {})
    calls: list[tuple[str, object]] = []
    original = double._run

    def spy(args, kwargs, config, mode):  # noqa: ANN001, ANN202
        calls.append((mode, config))
        return original(args, kwargs, config, mode)

    monkeypatch.setattr(double, "_run", spy)
    # A config other than the default: the timed calls must run it, not the default.
    candidate = kc.Config(block_sizes=[32])
    assert candidate != target.space.default()
    target.benchmark(candidate)
    # One checked call, then the timer's (one on the interpreter, several on a GPU).
    assert len(calls) >= 2 and {m for m, _ in calls} == {"run"}, calls
    assert all(c == candidate for _, c in calls), calls


def test_the_tuner_never_picks_a_config_with_another_result(tmp_path, monkeypatch):
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    x = torch.randn(100)
    want = add_block_size(x)
    try:
        result = add_block_size.autotune((x,), effort="quick", budget_s=4.0, progress=False)
        assert result.failed >= 1, "no candidate with another block size was measured"
        assert all("wrong result" in f.error for f in result.failures)
        torch.testing.assert_close(add_block_size(x), want)
    finally:
        add_block_size.config = None


def _key(*args: torch.Tensor, versions: dict[str, str] | None = None) -> str:
    target = KernelTarget(double, args, {})
    versions = versions or {"kcompiler": "1", "torch": "2", "triton": "3"}
    return make_key("src", tuning_spec(args, {}, target.space), "dev", versions)


ARGS = {
    "fp32": lambda: torch.ones(64),
    "bf16": lambda: torch.ones(64, dtype=torch.bfloat16),
    "fp16": lambda: torch.ones(64, dtype=torch.float16),
    "other shape": lambda: torch.ones(65),
    "other bucket": lambda: torch.ones(4097),
    "strided": lambda: torch.ones(128)[::2],
}


@pytest.mark.parametrize("a,b", list(itertools.combinations(ARGS, 2)))
def test_cache_keys_differ_in_every_field(a: str, b: str):
    assert _key(ARGS[a]()) != _key(ARGS[b]()), f"{a} and {b} share a tuning cache entry"


def test_cache_keys_differ_in_versions_and_space(monkeypatch):
    x = torch.ones(64)
    assert _key(x) == _key(x.clone())  # the same tuning problem shares its entry
    assert _key(x) != _key(x, versions={"kcompiler": "2", "torch": "2", "triton": "3"})
    target = KernelTarget(double, (x,), {})
    narrowed = tuning_spec((x,), {}, target.space)
    monkeypatch.setattr(target.space, "knobs", target.space.knobs[:-1])
    assert tuning_spec((x,), {}, target.space) != narrowed


def test_cache_keys_differ_in_scalar_arguments_and_keywords():
    """Arguments that are not tensors enter the key by value (an eps, a flag)."""
    x = torch.ones(64)
    space = KernelTarget(double, (x,), {}).space
    assert tuning_spec((x, 1e-5), {}, space) != tuning_spec((x, 1e-6), {}, space)
    assert tuning_spec((x, True), {}, space) != tuning_spec((x, False), {}, space)
    assert tuning_spec((x,), {"eps": 1.0}, space) != tuning_spec((x,), {"tol": 1.0}, space)
    assert tuning_spec((x,), {"eps": 1.0}, space) != tuning_spec((x,), {"eps": 2.0}, space)


def test_cache_keys_differ_in_codegen_settings(monkeypatch):
    """Index checks off (or another dot precision) generate other code: another entry."""
    x = torch.ones(64)
    space = KernelTarget(double, (x,), {}).space
    checked = tuning_spec((x,), {}, space)
    monkeypatch.setenv("KCOMPILER_INDEX_CHECKS", "0")
    assert tuning_spec((x,), {}, space) != checked
    monkeypatch.setenv("KCOMPILER_INDEX_CHECKS", "1")
    assert tuning_spec((x,), {}, space) == checked
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "0")
    assert tuning_spec((x,), {}, space) != checked


def test_a_bf16_tune_is_not_served_from_the_fp32_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    try:
        first = double.autotune((torch.randn(64),), effort="quick", budget_s=2.0, progress=False)
        again = double.autotune((torch.randn(64),), effort="quick", budget_s=2.0, progress=False)
        other = double.autotune(
            (torch.randn(64).bfloat16(),), effort="quick", budget_s=2.0, progress=False
        )
    finally:
        double.config = None
    assert not first.from_cache and again.from_cache
    assert not other.from_cache


KERNEL_FILE = """
import torch
import kcompiler as kc
import kcompiler.language as kl
{pad}
FACTOR = {factor}


@kc.kernel
def times_factor(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * FACTOR
    return out
"""


def test_the_key_covers_the_ir_but_not_where_the_kernel_sits(tmp_path):
    """Same source text: a module constant the IR inlines changes the key; moving the kernel
    to other lines of another file does not."""
    import importlib.util

    def key(name: str, factor: int, pad: str = "") -> str:
        path = tmp_path / f"{name}.py"
        path.write_text(KERNEL_FILE.format(factor=factor, pad=pad))
        spec = importlib.util.spec_from_file_location(f"kc_key_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return KernelTarget(module.times_factor, (torch.ones(64),), {}).cache_key

    base = key("base", 2)
    assert key("moved", 2, pad="\n" * 7) == base
    assert key("other_constant", 3) != base
