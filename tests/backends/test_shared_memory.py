"""Shared-memory estimate of kernels with ``tile.dot``: in the derived space and in the backend.

Triton's pipeliner keeps ``num_stages`` copies of each tile a loop loads for ``tl.dot`` in
shared memory; past the device's per-block limit (232,448 bytes on an H100) the kernel does not
compile. ``backends/triton/shared_memory/`` estimates it from the IR (calibrated on an H100: equal to
Triton's allocation for 233 of 237 matmul / fp8_gemm / attention configs, the other 4 below the
limit either way); drawn configs respect it, and a Config above it runs on the interpreter with
a warning naming the knobs (on a GPU, Triton's own figure decides). Without CUDA the limit is
the H100's.
"""

from __future__ import annotations

import random

import pytest
import torch

import kcompiler as kc
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.shared_memory import (
    TRANSIENT_TMA_BUFFERS,
    shared_buffers,
    shared_memory_bytes,
)
from kcompiler.compiler.checks import shared_memory_limit
from kcompiler.exc import SharedMemoryEstimateWarning
from kcompiler.kernels.attention import attention
from kcompiler.kernels.fp8_gemm import fp8_gemm
from kcompiler.kernels.matmul import matmul
from kcompiler.kernels.softmax import softmax
from kcompiler.target import H100
from kcompiler.testing import call_with_config

FP8 = getattr(torch, "float8_e4m3fn", None)


def _module(kernel: kc.Kernel, *args):
    return kernel.traced_modules(args, {})[0]


def _blocks(*sizes: int) -> dict[str, int]:
    return {f"block_{i}": v for i, v in enumerate(sizes)}


def test_limit_without_cuda_is_the_h100s() -> None:
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        assert shared_memory_limit() == props.shared_memory_per_block_optin
    else:
        assert shared_memory_limit() == H100.shared_memory_per_block == 232448


@pytest.mark.parametrize("dtype,size", [(torch.float16, 2), (torch.float32, 4)])
def test_matmul_estimate_is_stages_times_operand_tiles(dtype: torch.dtype, size: int) -> None:
    a = torch.randn(512, 512).to(dtype)
    mod = _module(matmul, a, a)
    for bm, bn, bk, s in [(128, 128, 64, 4), (64, 256, 32, 3), (256, 128, 128, 1)]:
        want = s * (bm * bk + bk * bn) * size
        assert shared_memory_bytes(mod, _blocks(bm, bn, bk), s) == want
    # range_num_stages of the K loop (block_2's) overrides num_stages for its buffers.
    base = shared_memory_bytes(mod, _blocks(128, 128, 64), 4, {"block_2": 2})
    assert base == 2 * (128 * 64 * 2) * size


def test_loop_knobs_multiply_or_add_buffers() -> None:
    """Measured on an H100: an unrolled loop keeps stages buffers per unrolled copy, and a
    pipelined one a buffer more (its remainder loop's: drawn attention and matmul configs
    allocated up to one tile of each operand above stages x unroll). range_multi_buffers
    adds nothing on Hopper (Triton 3.9's sm_90 compiles: the accumulator stays in
    registers; benchmarks/results/cpu/spills-sm90.json)."""
    a = torch.randn(512, 512).half()
    mod = _module(matmul, a, a)
    sizes, tiles = _blocks(128, 128, 64), (128 * 64 + 64 * 128) * 2
    assert shared_memory_bytes(mod, sizes, 2, None, {"block_2": 3}) == (2 * 3 + 1) * tiles
    assert shared_memory_bytes(mod, sizes, 2, {"block_2": 3}, {"block_2": 1}) == 3 * tiles
    # Not pipelined (one stage): unrolled copies only (measured: never more than that).
    assert shared_memory_bytes(mod, sizes, 1, None, {"block_2": 2}) == 2 * tiles
    # (Triton 3.6 on an H100 could multi-buffer the accumulator: counted there.)
    acc = 0 if TRANSIENT_TMA_BUFFERS else 128 * 128 * 4
    assert shared_memory_bytes(mod, sizes, 2, None, None, {"block_2": True}) == 2 * tiles + acc
    assert shared_memory_bytes(mod, sizes, 2, None, None, {"block_2": False}) == 2 * tiles


@pytest.mark.skipif(FP8 is None, reason="no float8 dtype in this torch")
def test_fp8_dot_k_block_is_at_least_32() -> None:
    """tl.dot of 8-bit operands needs K >= 32 (K = 16 fails to compile on an H100)."""
    x = torch.randn(256, 256).to(FP8)
    args = (x, x, torch.ones(1), torch.ones(1))
    space = fp8_gemm.config_space(*args)
    k = next(k for k in space.knobs if k.name == "block_sizes[2]")
    m = next(k for k in space.knobs if k.name == "block_sizes[0]")
    assert min(k.values) == 32 and min(m.values) == 16
    assert space.default()["block_sizes"][2] >= 32


@pytest.mark.skipif(FP8 is None, reason="no float8 dtype in this torch")
def test_fp8_tiles_are_one_byte() -> None:
    x = torch.randn(256, 256).to(FP8)
    mod = _module(fp8_gemm, x, x, torch.ones(1), torch.ones(1))
    assert shared_memory_bytes(mod, _blocks(128, 256, 128), 4) == 4 * (128 * 128 + 128 * 256)


def test_attention_estimate() -> None:
    """q is loaded once; K and V tiles are pipelined; p (computed) stays in registers."""
    q = torch.randn(1, 2, 256, 128).half()
    mod = _module(attention, q, q, q)
    assert len([b for b in shared_buffers(mod) if not b.computed]) == 3
    bm, bn, d, s = 128, 64, 128, 3
    # Measured on an H100 (Triton 3.6) for this config: 131,072 bytes.
    assert shared_memory_bytes(mod, _blocks(1, 1, bm, bn), s) == bm * d * 2 + s * 2 * bn * d * 2
    assert shared_memory_bytes(mod, _blocks(1, 1, bm, bn), s) == 131072


def test_kernels_without_dot_need_none_with_pointers() -> None:
    """No dot, pointer indexing: nothing in shared memory (the reduction and layout-conversion
    scratch count only with num_warps). Tensor-descriptor indexing does take some (test_shared_memory_tma.py), so
    the space has the constraint."""
    mod = _module(softmax, torch.randn(8, 1000))
    assert shared_buffers(mod) == []
    assert shared_memory_bytes(mod, _blocks(8), 4) == 0
    # A 1024-wide block over 1000 columns: the launcher takes the pointer kernel.
    assert shared_memory_bytes(mod, _blocks(8), 4, indexing="tensor_descriptor") == 0
    # Whole rows, outside loops: the load's buffer is read into registers before the store
    # stages its tile (one buffer at a time; Triton 3.9, sm_90), + the load's barrier.
    wide = _module(softmax, torch.randn(8, 1024))
    need = shared_memory_bytes(wide, _blocks(8), 4, indexing="tensor_descriptor")
    assert need == 8 * 1024 * 4 + 8
    assert any(
        c.name == "shared_memory" for c in softmax.config_space(torch.randn(8, 1000)).constraints
    )


def test_config_over_the_limit_warns_naming_the_knobs_and_runs() -> None:
    """The estimate is an upper bound and never refuses a config: the interpreter (which has
    no shared memory) runs it with a warning naming the knobs; a GPU lets Triton decide."""
    a, b = torch.randn(96, 80).half(), torch.randn(80, 72).half()
    config = kc.Config(block_sizes=[256, 256, 128], num_stages=4)
    need = 4 * (256 * 128 + 128 * 256) * 2  # 524,288
    with pytest.warns(SharedMemoryEstimateWarning) as caught:
        out = call_with_config(matmul, config, a, b)
    torch.testing.assert_close(out.float(), a.float() @ b.float(), atol=2e-2, rtol=2e-2)
    msg = str(caught[0].message)
    assert "block_sizes" in msg and "num_stages=4" in msg, msg
    assert f"{need:,} bytes" in msg and f"{shared_memory_limit():,} bytes" in msg, msg
    assert "matmul.py:" in msg, msg  # the kernel's device loop


def test_range_num_stages_is_named_too() -> None:
    a = torch.randn(64, 64).half()
    config = kc.Config(block_sizes=[128, 128, 128], num_stages=1, range_num_stages=[4])
    with pytest.warns(SharedMemoryEstimateWarning, match="range_num_stages"):
        call_with_config(matmul, config, a, a)


def _drawn(kernel: kc.Kernel, args, n: int = 300):
    space = kernel.config_space(*args)
    assert any(c.name == "shared_memory" for c in space.constraints)
    rng = random.Random(0)
    return [space.sample(rng) for _ in range(n)]


def _estimate(module, config) -> int:
    ranges = range_options(module, config)
    return shared_memory_bytes(
        module,
        _blocks(*config["block_sizes"]),
        config.get("num_stages") or 1,
        ranges["range_num_stages"],
        ranges["range_unroll_factors"],
        ranges["range_multi_buffers"],
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_drawn_matmul_configs_respect_the_estimate(dtype: torch.dtype) -> None:
    """At a large shape the block knobs reach 1024: unconstrained, many draws would not fit."""
    a = torch.randn(2048, 2048).to(dtype)
    mod = _module(matmul, a, a)
    configs = _drawn(matmul, (a, a))
    estimates = [_estimate(mod, c) for c in configs]
    assert max(estimates) <= shared_memory_limit()
    assert max(estimates) > shared_memory_limit() // 4  # the space is not shrunk to nothing
    assert any((c.get("num_stages") or 1) >= 3 for c in configs)


def test_drawn_attention_configs_respect_the_estimate() -> None:
    q = torch.randn(1, 2, 2048, 128).half()
    mod = _module(attention, q, q, q)
    for c in _drawn(attention, (q, q, q), 200):
        assert _estimate(mod, c) <= shared_memory_limit(), c
