"""On a GPU: tuning with the Ray compile backend. A local Ray cluster of CPU-only workers
(its own Triton cache, as on other machines) compiles every candidate for the device's
target; the tuner installs the accepted binaries in this process's Triton cache and the GPU
process only benchmarks: no entry in its cache was compiled here during the search.

What tests/autotune/test_ray_compile.py cannot check on a CPU: that the binaries a Ray
worker compiled are the ones a real launch looks up, and that the tuned kernel is right.

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_8_ray_tuning.py -q -p no:cacheprovider
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from gpu_support import needs_cuda

import kcompiler as kc
from kcompiler.autotune import SQLiteCache, Tuner
from kcompiler.autotune.ray_pool import close_shared_ray_pools, ray_installed
from kcompiler.backends.triton.target_compile import STATS_FILE
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime.tuning import KernelTarget


def entries(cache: Path) -> set[Path]:
    return {p for p in cache.iterdir() if p.is_dir()} if cache.exists() else set()


@needs_cuda
@pytest.mark.gpu
def test_ray_workers_compile_and_the_gpu_process_only_benchmarks(tmp_path, monkeypatch):
    if not ray_installed():
        pytest.skip("the ray package is not installed (pip install -e '.[ray]')")
    import ray
    from ray.cluster_utils import Cluster

    farm, host = tmp_path / "farm-cache", tmp_path / "gpu-process-cache"
    for k, v in {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "disabled",
        "TRITON_CACHE_DIR": str(farm),  # the nodes' environment at start
    }.items():
        monkeypatch.setenv(k, v)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 4, "num_gpus": 0})
    try:
        monkeypatch.setenv("TRITON_CACHE_DIR", str(host))
        monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path / "kcompiler"))
        monkeypatch.setenv("KCOMPILER_SPILL_CHECK", "1")  # the target-compile path
        ray.init(address=cluster.address, log_to_driver=False)
        x = torch.randn(4096, 4096, device="cuda")
        # runs the default config here; the workers send the binaries back
        target = KernelTarget(softmax, (x,), {}, ship_binaries=True)
        before = entries(host)
        cache = SQLiteCache(tmp_path / "autotune.sqlite")
        result = Tuner(target, cache=cache, compile_backend="ray", progress=False).tune(
            strategy="random", effort="quick", max_configs=12
        )
        cache.close()
        assert result.time_ms is not None and result.tried >= 6
        compiled_here = [e for e in entries(host) - before if not (e / STATS_FILE).exists()]
        installed = [e for e in entries(host) - before if (e / STATS_FILE).exists()]
        assert installed, "the accepted binaries were installed from the workers' results"
        assert not compiled_here, f"the GPU process compiled {len(compiled_here)} kernels"
        assert any(entries(farm)), "the Ray workers compiled into their own cache"
        out = kc.kernel(softmax.fn, config=result.config)(x)
        torch.testing.assert_close(out, torch.softmax(x, -1), rtol=1e-4, atol=1e-5)
    finally:
        close_shared_ray_pools()
        ray.shutdown()
        cluster.shutdown()
        os.environ.pop("RAY_ADDRESS", None)
