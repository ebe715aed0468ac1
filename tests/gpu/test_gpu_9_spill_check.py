"""On a GPU: the spill check reads ptxas's figures from the compile the tuner's local workers
make anyway (backends/triton/precompile.compile_with_figures), on by default.

What tests/runtime/test_spill_aware_tuning.py cannot check on a CPU, where the sm_90 stand-in
driver takes the GPU's place: that the real driver's compile in a worker reports the figures
(Triton's ptxas log), that the main process then loads that binary instead of compiling
again, and that a tune rejects spilling configs without benchmarking them.

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_9_spill_check.py -q -p no:cacheprovider
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gpu_support import needs_cuda

from kcompiler.autotune import ConfigSpace, SQLiteCache, Tuner
from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton.precompile import STATS_FILE, launch_figures
from kcompiler.config import Config
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime.tuning import KernelTarget, device_target


def entries(cache: Path) -> set[Path]:
    return {p for p in cache.iterdir() if p.is_dir()} if cache.exists() else set()


def compile_in_worker(target: KernelTarget, config: Config) -> object:
    fn, args = target.precompile_job(config)
    (outcome,) = get_compile_backend("local")([("c", fn, args)], workers=1, timeout_s=300)
    assert outcome.error is None, outcome.error
    return outcome.result


@needs_cuda
@pytest.mark.gpu
def test_the_workers_compile_reports_spills_and_is_the_one_launched(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    monkeypatch.delenv("KCOMPILER_SPILL_CHECK", raising=False)  # the default: on
    x = torch.randn(64, 8192, device="cuda")
    target = KernelTarget(softmax, (x,), {})
    assert target.compile_target is None and target.spill_target == device_target()
    # 8192 fp32 values of a row in one warp's registers: 256 a thread.
    spilling = Config(block_sizes=[1], num_warps=1, reduction_loops=[None])
    result = compile_in_worker(target, spilling)
    (figures,) = launch_figures(result)
    assert figures["spill_bytes"] > 0 and figures["registers"] > 0
    assert "spills" in (target.review_compile(spilling, result) or "")
    # A config that fits: its figures come back, and the benchmark's launch loads the
    # worker's binary (every cache entry was written by a worker: it has the stats file).
    # Not the default config: KernelTarget ran that one in this process already.
    fits = Config(block_sizes=[1], num_warps=16, reduction_loops=[None])
    assert fits != target.space.default()
    before = entries(tmp_path / "triton")
    result = compile_in_worker(target, fits)
    (figures,) = launch_figures(result)
    assert figures["spill_bytes"] == 0 and target.review_compile(fits, result) is None
    target.benchmark(fits)
    new = entries(tmp_path / "triton") - before
    assert new and all((e / STATS_FILE).exists() for e in new), "the main process compiled"


@needs_cuda
@pytest.mark.gpu
def test_a_tune_rejects_spilling_configs_without_benchmarks(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    x = torch.randn(4096, 32768, device="cuda")
    target = KernelTarget(softmax, (x,), {})
    # Without the register budget, whole 32768-value rows at few warps are drawn: they spill.
    space = target.space
    budget = [c for c in space.constraints if c.name != "register_budget"]
    target.space = ConfigSpace(space.knobs, budget, space.fixed)
    measured: list[Config] = []
    original = target.benchmark

    def benchmark(config: Config) -> float:
        measured.append(config)
        return original(config)

    monkeypatch.setattr(target, "benchmark", benchmark)
    cache = SQLiteCache(tmp_path / "autotune.sqlite")
    result = Tuner(target, cache=cache, progress=False).tune(
        strategy="random", effort="quick", max_configs=24
    )
    cache.close()
    assert result.time_ms is not None and not result.failures, result.failures
    rejected = {f.config for f in result.rejected}
    assert rejected and all("spills" in f.error for f in result.rejected)
    assert not rejected & set(measured), "a rejected config was benchmarked"
    monkeypatch.setenv("KCOMPILER_SPILL_CHECK", "0")
    off = KernelTarget(softmax, (x,), {})
    assert off.spill_target is None and off.cache_key != target.cache_key
