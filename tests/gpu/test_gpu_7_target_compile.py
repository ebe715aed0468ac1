"""On a GPU: binaries compiled for the device's target by a process that cannot see the GPU
(``CUDA_VISIBLE_DEVICES=""``, as on a CPU-only compile machine) are installed into a fresh
Triton cache, and the process that owns the GPU launches them without compiling anything.

What tests/backends/test_target_compile.py cannot check on a CPU: that the cache key a real
CUDA launch looks up (the driver's target, its options) is the one the target compile wrote,
and that the stored cubin runs and computes the right result.

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_7_target_compile.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from gpu_support import needs_cuda

import kcompiler as kc
from kcompiler.backends.triton.target_compile import install_tree
from kcompiler.kernels.matmul import matmul_dot
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime.tuning import device_target

ROOT = Path(__file__).resolve().parents[2]

# Run with no GPU visible: precompile two kernels' configs into the store, print the records.
COMPILE = textwrap.dedent(
    """
    import json, sys, torch
    from kcompiler.config import Config
    from kcompiler.kernels.matmul import matmul_dot
    from kcompiler.kernels.softmax import softmax
    assert not torch.cuda.is_available()
    target, store = sys.argv[1], sys.argv[2]
    a = torch.randn(1024, 512, dtype=torch.bfloat16)
    b = torch.randn(512, 768, dtype=torch.bfloat16)
    x = torch.randn(512, 3000)
    out = []
    for kernel, args, config in [
        (matmul_dot, (a, b), Config(block_sizes=[128, 128, 64], num_warps=4, num_stages=3)),
        (softmax, (x,), Config(block_sizes=[1], num_warps=8)),
    ]:
        (r,) = kernel.precompile(*args, configs=[config], target=target, store=store, workers=1)
        assert r.ok, r.first_error
        out.append([r.sha256, r.registers, r.spill_bytes, r.shared_bytes])
    print(json.dumps(out))
    """
)


def compiled_entries(cache: Path) -> list[str]:
    """The cache's entries that hold a compiled kernel (a cubin), by name."""
    return sorted(d.name for d in cache.iterdir() if any(d.glob("*.cubin")))


@needs_cuda
@pytest.mark.gpu
def test_binaries_compiled_without_the_gpu_are_launched_without_compiling(tmp_path, monkeypatch):
    target = device_target()
    store = tmp_path / "store"
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "TRITON_CACHE_DIR": str(tmp_path / "compile-machine-cache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("TRITON_INTERPRET", None)
    done = subprocess.run(
        [sys.executable, "-c", COMPILE, target, str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(sha and regs for sha, regs, _, _ in records)

    cache = tmp_path / "gpu-process-cache"
    monkeypatch.setenv("TRITON_CACHE_DIR", str(cache))
    assert install_tree(store, cache) == 2
    installed = compiled_entries(cache)
    assert len(installed) == 2

    a = torch.randn(1024, 512, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(512, 768, device="cuda", dtype=torch.bfloat16)
    x = torch.randn(512, 3000, device="cuda")
    mm = kc.kernel(
        matmul_dot.fn, config=kc.Config(block_sizes=[128, 128, 64], num_warps=4, num_stages=3)
    )
    sm = kc.kernel(softmax.fn, config=kc.Config(block_sizes=[1], num_warps=8))
    got_mm, got_sm = mm(a, b), sm(x)
    torch.cuda.synchronize()

    # Triton found both entries: a compile would have written a new entry holding a cubin.
    # (The launch does add entries without one: the driver's utility module and each
    # signature's C launcher, which Triton builds and caches in the same directory.)
    assert compiled_entries(cache) == installed
    torch.testing.assert_close(got_mm.float(), (a.float() @ b.float()), rtol=2e-2, atol=2e-1)
    torch.testing.assert_close(got_sm, torch.softmax(x, -1), rtol=1e-4, atol=1e-5)
