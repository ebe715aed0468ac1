"""GPU precompile in worker processes (backends/triton/precompile.py, autotune/compile_pool.py):
a short real autotune on CUDA finishes with no failed config, its configs were compiled in
the workers, and the tuned kernel matches torch. Also runs test_fault_isolation's GPU test
(a worker's compile is loaded from Triton's on-disk cache by the main process).
"""

from __future__ import annotations

import pytest
import torch
from gpu_support import DEVICES, import_test_module, needs_cuda

import kcompiler as kc
from kcompiler.kernels.softmax import softmax_two_pass
from kcompiler.runtime import tuning
from kcompiler.testing import assert_matches_torch

fault_tests = import_test_module("runtime", "test_fault_isolation")
test_gpu_worker_compile_is_loaded_from_tritons_cache = needs_cuda(
    fault_tests.test_gpu_worker_compile_is_loaded_from_tritons_cache
)


@pytest.mark.parametrize("device", DEVICES)
def test_quick_autotune_precompiles_in_workers(device, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path / "kcompiler"))  # nothing cached
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))  # compiles really happen
    jobs: list[bool] = []
    original = tuning.KernelTarget.precompile_job

    def spy(self, config):  # noqa: ANN001, ANN202
        job = original(self, config)
        jobs.append(job is not None)
        return job

    monkeypatch.setattr(tuning.KernelTarget, "precompile_job", spy)
    m, n = (4096, 4097) if device == "cuda" else (9, 300)
    x = torch.randn(
        m, n, device=device, dtype=torch.bfloat16 if device == "cuda" else torch.float32
    )
    kernel = kc.kernel(softmax_two_pass.fn)  # a fresh Kernel: its config is ours to set
    result = kernel.autotune(
        (x,), effort="quick", budget_s=20.0 if device == "cuda" else 6.0, workers=2, progress=False
    )
    assert result.failed == 0, [str(f) for f in result.failures]
    assert not result.from_cache and result.tried >= 1, result
    assert result.time_ms is not None
    assert jobs and all(jobs), "configs were not precompiled in the workers"
    if device == "cuda":
        assert any((tmp_path / "triton").iterdir()), "the workers wrote nothing to Triton's cache"
    assert kernel.config == result.config
    assert_matches_torch(kernel, lambda x: torch.softmax(x.float(), -1).to(x.dtype), x)
