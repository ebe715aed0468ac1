"""On a GPU: shared memory is Triton's to judge, at a variant's first launch.

What tests/runtime/test_shared_memory_policy.py simulates on the CPU: a config whose estimate
is over the device's limit but whose compiled kernel fits runs, with no warning; a config
whose compiled kernel does not fit raises Triton's OutOfResources at its first launch, which
the runtime turns into an InvalidConfig naming the knobs, Triton's bytes and the kernel line.

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_12_shared_memory.py -q -p no:cacheprovider
"""

from __future__ import annotations

import warnings

import pytest
import torch
from gpu_support import import_test_module, needs_cuda
from triton.runtime.errors import OutOfResources

import kcompiler as kc
from kcompiler.compiler.checks import shared_memory_limit
from kcompiler.exc import InvalidConfig, SharedMemoryEstimateWarning
from kcompiler.kernels.matmul import matmul

policy = import_test_module("runtime", "test_shared_memory_policy")


@needs_cuda
@pytest.mark.gpu
def test_a_config_over_the_estimate_that_triton_fits_runs() -> None:
    kernel = kc.kernel(policy.chunk_out)
    args = tuple(a.cuda() for a in policy._inputs())
    assert policy._estimate(kernel, args, policy.CONFIG) > shared_memory_limit()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SharedMemoryEstimateWarning)
        out = kernel.bind(*args).run(policy.CONFIG)
    reference = policy._reference(*(a.cpu() for a in args))
    torch.testing.assert_close(out.float().cpu(), reference, atol=0.5, rtol=2e-2)


@needs_cuda
@pytest.mark.gpu
def test_a_config_triton_does_not_fit_is_an_invalid_config_at_first_launch() -> None:
    a = torch.randn(512, 512, device="cuda", dtype=torch.float16)
    config = kc.Config(block_sizes=[256, 128, 128], num_stages=4, num_warps=8)
    with pytest.raises(InvalidConfig) as e:
        matmul.bind(a, a).run(config)
    msg = str(e.value)
    assert "matmul.py:" in msg and "num_stages=4" in msg and "'block_0': 256" in msg, msg
    assert "bytes of shared memory as Triton compiled it" in msg, msg
    assert f"limit of {shared_memory_limit():,}" in msg, msg
    assert isinstance(e.value.__cause__, OutOfResources)
