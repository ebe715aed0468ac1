"""Spill-aware tuning (runtime/tuning.KernelTarget with a compile target): the precompile job
compiles GPU code for the target and ptxas's spill figure decides, before any benchmark,
whether the config may be measured. One real sm_90 compile (a config that spills)."""

from __future__ import annotations

import pytest
import torch

from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton.target_compile import TargetBinary
from kcompiler.config import Config
from kcompiler.kernels.matmul import matmul_dot
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime.tuning import DOT_SPILL_ALLOWANCE, KernelTarget


def _binary(spill: int, error: str | None = None) -> TargetBinary:
    return TargetBinary("k", "sm_90", "0" * 64, 255, spill, 0, 1.0, error)


def test_the_allowance_depends_on_tile_dot() -> None:
    x = torch.randn(8, 300)
    plain = KernelTarget(softmax, (x,), {}, compile_target="sm_90")
    assert plain.spill_allowance == 0 and plain.compile_env is not None
    assert "TRITON_INTERPRET" not in plain.compile_env
    a = torch.randn(32, 32)
    dot = KernelTarget(matmul_dot, (a, a), {}, compile_target="sm_90")
    assert dot.spill_allowance == DOT_SPILL_ALLOWANCE > 0
    config = dot.space.default()
    assert dot.review_compile(config, [_binary(DOT_SPILL_ALLOWANCE)]) is None
    assert "spills 1024 bytes" in dot.review_compile(config, [_binary(1024)])
    assert "does not compile" in dot.review_compile(config, [_binary(0, "ptxas error")])
    # Rejections depend on the target and the allowance: they key the cache.
    assert plain.cache_key != KernelTarget(softmax, (x,), {}).cache_key
    with pytest.raises(ValueError, match="gfx"):
        KernelTarget(softmax, (x,), {}, compile_target="gfx942")


def test_a_spilling_config_is_rejected_before_its_benchmark(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    x = torch.randn(16, 8192)
    target = KernelTarget(softmax, (x,), {}, compile_target="sm_90")
    # 8192 fp32 values of a row in one warp's registers: 256 a thread, far beyond 255.
    spilling = Config(block_sizes=[1], num_warps=1, reduction_loops=[None])
    fn, args = target.precompile_job(spilling)
    run = get_compile_backend("local")
    (outcome,) = run([("c", fn, args)], workers=1, timeout_s=300, env=target.compile_env)
    assert outcome.error is None, outcome.error
    (binary,) = outcome.result
    assert binary.ok and binary.spill_bytes > 0
    reason = target.review_compile(spilling, outcome.result)
    assert reason is not None and f"spills {binary.spill_bytes} bytes" in reason
    # ... and the recalibrated register budget keeps it out of the space in the first place.
    assert not target.space.is_valid(spilling)
