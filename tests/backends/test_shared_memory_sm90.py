"""The shared-memory estimate against Triton's own figure (``metadata.shared``) for sm_90.

Triton compiles for sm_90 on any CPU (backends/triton/target_compile.py), so the estimate the
config space excludes configs by (``runtime/tuning.shared_memory_estimate``) is checked here
against the real allocation: one config for each rule of ``backends/triton/shared_memory/``
that the draws of the bundled kernels showed (benchmarks/results/cpu/spills-sm90.md), each
never below Triton's figure and within 10 % of it. The nine compiles run in one pool of two
workers (about 1.5 s each; Triton's cache makes reruns faster).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton.shared_memory import TRANSIENT_TMA_BUFFERS
from kcompiler.backends.triton.target_compile import compile_launches, worker_environment
from kcompiler.config import Config
from kcompiler.kernels.attention import attention
from kcompiler.kernels.matmul import matmul_dot
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.runtime.target_precompile import launch_specs
from kcompiler.runtime.tuning import shared_memory_estimate

BF16 = torch.bfloat16
TD, P = "tensor_descriptor", "pointer"
_A = torch.empty(512, 512, dtype=BF16)
_Q = torch.empty(1, 2, 256, 64, dtype=BF16)
_X = torch.empty(256, 4096)
_W = torch.empty(4096)

# (what the config shows, kernel, arguments, config)
CASES: list[tuple[str, Any, tuple, dict[str, Any]]] = [
    (
        "wgmma: num_stages copies; a persistent kernel's descriptor store stays allocated",
        matmul_dot,
        (_A, _A),
        dict(block_sizes=[128, 128, 64], num_warps=4, num_stages=4,
             indexing=[P, TD, TD], pid_type="persistent_blocked"),
    ),
    (
        "mma v2 (M = 32): num_stages - 1 copies",
        matmul_dot,
        (_A, _A),
        dict(block_sizes=[32, 128, 128], num_warps=4, num_stages=4, indexing=[P, P, P]),
    ),
    (
        "one stage: q, then K or V (not together), and p staged for mma v2",
        attention,
        (_Q, _Q, _Q),
        dict(block_sizes=[1, 1, 64, 128], num_warps=4, num_stages=1),
    ),
    (
        "one stage: a chunk loop's descriptor load and store share one buffer",
        softmax,
        (_X,),
        dict(block_sizes=[4], num_warps=8, num_stages=1, reduction_loops=[1024],
             indexing=[TD, TD]),
    ),
    (
        "two stages: the descriptor store's buffer is hoisted out of the loop",
        softmax,
        (_X,),
        dict(block_sizes=[4], num_warps=8, num_stages=2, reduction_loops=[1024],
             indexing=[TD, TD]),
    ),
    (
        "the weight row, broadcast over rows spread on warps, converts through shared memory",
        rms_norm_fwd,
        (_X, _W),
        dict(block_sizes=[16], num_warps=32, num_stages=1, reduction_loops=[1024]),
    ),
    (
        "a descriptor load's buffer is reused by the weight row's conversion",
        rms_norm_fwd,
        (_X, _W),
        dict(block_sizes=[8], num_warps=32, num_stages=2, reduction_loops=[1024],
             indexing=[TD, P, P, P]),
    ),
    (
        "16 rows x 4 warps of partial results, moved in two rounds",
        row_sum,
        (_X,),
        dict(block_sizes=[16], num_warps=4, num_stages=1, reduction_loops=[1024]),
    ),
    (
        "a row reduction over 32 warps: their partial results",
        row_sum,
        (_X,),
        dict(block_sizes=[4], num_warps=32, num_stages=1, reduction_loops=[None]),
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def figures() -> dict[int, tuple[int, int]]:
    """Per case: (the estimate, Triton's metadata.shared), all compiled in one pool."""
    jobs, estimates = [], {}
    for i, (_, kernel, args, config) in enumerate(CASES):
        cfg = kernel.config_space(*args).complete(Config(**config))
        estimates[i] = shared_memory_estimate(kernel, args)(cfg)
        specs = launch_specs(kernel, args, {}, cfg)
        jobs.append((i, compile_launches, (specs, "sm_90", False)))
    run = get_compile_backend("local")
    out = {}
    for outcome in run(jobs, workers=2, timeout_s=300, env=worker_environment()):
        assert outcome.error is None, outcome.error
        binaries = outcome.result
        assert all(b.ok for b in binaries), [b.error for b in binaries]
        out[outcome.key] = (estimates[outcome.key], max(b.shared_bytes for b in binaries))
    return out


@pytest.mark.skipif(not TRANSIENT_TMA_BUFFERS, reason="the rules pinned here are Triton 3.9's")
@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_estimate_is_tight_above_triton(figures: dict[int, tuple[int, int]], case: int) -> None:
    estimate, triton = figures[case]
    assert triton <= estimate <= 1.1 * triton, (estimate, triton)
