"""Tensor descriptors on tensors the launcher's guard refuses (a last stride other than 1, a
stride-0 dim): such a launch runs the kernel's pointer version, so the shared-memory estimate
counts the pointer kernel, and the config space does not offer the descriptor (it would be
the all-pointer config again). The layouts come from the specialization
(frontend/specialize.py, ``tile.kernel``'s ``strided_args`` and ``broadcast_args``)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from kcompiler.config import Config
from kcompiler.kernels.fp8_gemm import fp8_gemm
from kcompiler.kernels.matmul import matmul_dot
from kcompiler.kernels.vector_add import vector_add
from kcompiler.runtime.tuning import shared_memory_estimate

TD, P = "tensor_descriptor", "pointer"
FP8 = torch.float8_e4m3fn


def fp8_args() -> tuple:
    """y K-major (last stride 4096), as fp8_gemm's host code hands it to its device loop."""
    y = torch.empty(4096, 4096, dtype=FP8).t()
    return (torch.empty(4096, 4096, dtype=FP8), y, torch.tensor(1.0), torch.tensor(1.0))


def dot_config(**kw: Any) -> Config:
    base = dict(range_flattens=[None], range_multi_buffers=[None], range_num_stages=[0],
                range_unroll_factors=[0], l2_groupings=[1], pid_type="flat")  # fmt: skip
    return Config(**{**base, **kw})


# fp8_gemm's indexing: x, y, scale_a, scale_b, out.
FP8_CONFIGS = [
    dict(block_sizes=[512, 64, 128], num_stages=3, num_warps=16,
         pid_type="persistent_interleaved"),
    dict(block_sizes=[32, 64, 64], num_stages=4, num_warps=2, pid_type="persistent_interleaved"),
    dict(block_sizes=[64, 128, 128], num_stages=3, num_warps=4, pid_type="persistent_blocked",
         range_flattens=[True], range_num_stages=[1], range_unroll_factors=[1]),
    dict(block_sizes=[128, 128, 128], num_stages=2, num_warps=8, range_num_stages=[2]),
]  # fmt: skip


@pytest.mark.parametrize("knobs", FP8_CONFIGS, ids=lambda k: "x".join(map(str, k["block_sizes"])))
def test_a_descriptor_on_k_major_y_is_estimated_as_the_pointer_kernel(knobs: dict) -> None:
    estimate = shared_memory_estimate(fp8_gemm, fp8_args())
    pointers = estimate(dot_config(indexing=[P] * 5, **knobs))
    assert estimate(dot_config(indexing=[P, TD, P, P, P], **knobs)) == pointers
    assert estimate(dot_config(indexing=[TD, TD, P, P, TD], **knobs)) == pointers
    # Without y's descriptor the launch takes x's and out's: their buffers are counted.
    assert estimate(dot_config(indexing=[TD, P, P, P, TD], **knobs)) != pointers


def test_the_same_descriptor_on_a_row_major_operand_is_counted() -> None:
    row_major = (torch.empty(1024, 1024, dtype=torch.bfloat16),) * 2
    transposed = (row_major[0], torch.empty(1024, 1024, dtype=torch.bfloat16).t())
    config = dot_config(block_sizes=[64, 64, 64], indexing=[P, TD, P], num_stages=3, num_warps=4)
    pointers = dot_config(block_sizes=[64, 64, 64], indexing=[P] * 3, num_stages=3, num_warps=4)
    plain = shared_memory_estimate(matmul_dot, row_major)
    assert plain(config) > plain(pointers)  # y's descriptor buffers and barriers
    strided = shared_memory_estimate(matmul_dot, transposed)
    assert strided(config) == strided(pointers) == plain(pointers)


def indexing_modes(kernel: Any, args: tuple) -> list[tuple[str, ...]]:
    space = kernel.config_space(*args)
    return [space.knob(n).values for n in space.names if n.startswith("indexing[")]


def test_the_space_offers_no_descriptor_on_a_refused_tensor() -> None:
    # fp8_gemm: x and out may take descriptors, K-major y not (the scales are 0-d: pointers).
    x, y, out = (indexing_modes(fp8_gemm, fp8_args())[i] for i in (0, 1, 4))
    assert TD in x and TD in out and TD not in y
    row_major = (torch.empty(1024, 1024, dtype=torch.bfloat16),) * 2
    transposed = (row_major[0], torch.empty(1024, 1024, dtype=torch.bfloat16).t())
    assert TD in indexing_modes(matmul_dot, row_major)[1]
    assert TD not in indexing_modes(matmul_dot, transposed)[1]
    assert TD in indexing_modes(matmul_dot, transposed)[0]
    # vector_add broadcasts a row over x's rows (a stride-0 dim): x and out keep theirs.
    modes = indexing_modes(vector_add, (torch.empty(256, 512), torch.empty(512)))
    assert [TD in m for m in modes] == [True, False, True]
