"""The shared-memory estimate against Triton 3.9's recorded figures for sm_90, without compiling.

Each case is a config that ``python -m benchmarks.spill_report --draws 25 --seed S`` drew for a
bundled kernel at its benchmark shape (benchmarks/space_report.py ``representative()``) and
compiled for sm_90 on the CPU with Triton 3.9.0: ``triton`` is that compile's
``metadata.shared`` as the report's JSON rows record it (seed 0:
benchmarks/results/cpu/spills-sm90.json as committed at ab3a833; seed 1: the same command
with ``--seed 1``; seed 11: ``--seed 11`` at 988ec4a; seed 7:
``--draws 40 --seed 7 --cases jagged_mean,softmax_two_pass,softmax_bwd``, or for other kernels
``--draws 25 --seed 7``; fp8_gemm's descriptors on its K-major ``y``: ``--cases fp8_gemm``
with seeds 0, 1 and 5 at 219c36d, and ``python -m benchmarks.smem_exclusions --per-kernel 10
--seed 9 --cases fp8_gemm``; seeds 0, 1 and 13 ``--draws 25 --cases matmul,matmul_dot,
attention,softmax_two_pass,softmax_bwd,jagged_mean`` at 219c36d; fp8_gemm's kept store:
``--cases fp8_gemm --seed 0`` at 846cacc; the 100-draw cases (cross_entropy, softmax_bwd
32 x 32 x 4, matmul 32 x 16 x 32, jagged_mean's flattened nests): ``--draws 100 --seed S``
at e007df7, jagged_mean's per-row values held whole by every warp and its 128 x 64 x 1 at eed7f67; softmax_bwd's seed-5 and seed-7 barrier and
placement cases: ``--draws 25 --seed S`` over the 17 kernels without ``tile.dot``, as in
benchmarks/results/cpu/spills-sm90-notes.md's h/smem5 section). Triton's
figure depends only on the config and the shapes, so the estimate for the same config and
shapes must stay in [Triton's figure, +10 %]. One case for each rule of
``backends/triton/shared_memory/`` that these rows pinned; the tensors are ``torch.empty``
(only traced). tests/backends/test_shared_memory_sm90.py compiles a few more live.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from kcompiler.backends.triton.shared_memory import TRANSIENT_TMA_BUFFERS
from kcompiler.config import Config
from kcompiler.kernels.backward import softmax_bwd
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.fp8_gemm import fp8_gemm
from kcompiler.kernels.jagged_mean import jagged_mean_kernel
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.matmul import matmul, matmul_dot
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax_two_pass
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.kernels.vector_add import vector_add
from kcompiler.runtime.tuning import shared_memory_estimate

TD, P = "tensor_descriptor", "pointer"
M, N = 4096, 8192


def _rows() -> tuple:
    return (torch.empty(M, N),)


def _two_rows() -> tuple:
    return (torch.empty(M, N), torch.empty(M, N))


def _rms() -> tuple:
    return (torch.empty(M, N), torch.empty(N), 1e-5)


def _layer_norm() -> tuple:
    return (torch.empty(M, N), [N], torch.empty(N), torch.empty(N), 1e-5)


def _cross_entropy() -> tuple:
    return (torch.empty(4096, 32000), torch.zeros(4096, dtype=torch.int64))


def _add() -> tuple:
    return (torch.empty(M, N), torch.empty(N))


def _embedding() -> tuple:
    return (torch.zeros(8, 2048, dtype=torch.int64), torch.empty(32000, 4096))


def _mm() -> tuple:
    return (torch.empty(4096, 4096, dtype=torch.bfloat16),) * 2


def _mm_bias() -> tuple:
    return (*_mm(), torch.empty(4096, dtype=torch.bfloat16), "relu")


def _fp8() -> tuple:
    """y K-major, as fp8_gemm's host code leaves it (benchmarks/spill_report.launch_ready)."""
    fp8 = torch.float8_e4m3fn
    y = torch.empty(4096, 4096, dtype=fp8).t()
    return (torch.empty(4096, 4096, dtype=fp8), y, torch.tensor(1.0), torch.tensor(1.0))


def _dot_config(**kw: Any) -> dict[str, Any]:
    base = dict(range_flattens=[None], range_multi_buffers=[None], range_num_stages=[0],
                range_unroll_factors=[0], l2_groupings=[1])  # fmt: skip
    return {**base, **kw}


def _jagged() -> tuple:
    lengths = torch.randint(0, 513, (512,), generator=torch.Generator().manual_seed(0))
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)])
    counts = torch.full((512,), 256, dtype=torch.int32)
    return (torch.empty(int(offsets[-1]), 256), offsets, counts, 256)


def _jagged_config(**kw: Any) -> dict[str, Any]:
    base = dict(
        range_flattens=[None, None],
        range_multi_buffers=[None, None],
        range_num_stages=[0, 0],
        range_unroll_factors=[0, 0],
    )
    return {**base, **kw}


# (what the case shows, kernel, arguments, config, Triton's metadata.shared, seed)
CASES: list[tuple[str, Any, Any, dict[str, Any], int, int]] = [
    (
        "16 rows x 4 warps of partial results move in two rounds of 8 rows",
        row_sum, _rows,
        dict(block_sizes=[16], indexing=[P, P], num_stages=3, num_warps=4,
             reduction_loops=[1024]),
        128, 0,
    ),
    (
        "4-element vectors put 4 of 32 warps along a 512-wide chunk",
        row_sum, _rows,
        dict(block_sizes=[8], indexing=[P, P], num_stages=1, num_warps=32,
             reduction_loops=[512]),
        128, 0,
    ),
    (
        "a row sum held in registers of every lane moves to its lanes by one shuffle",
        row_sum, _rows,
        dict(block_sizes=[2], indexing=[P, P], num_stages=4, num_warps=1,
             reduction_loops=[2048]),
        0, 0,
    ),
    (
        "a descriptor load's buffer is free again when the weight row is converted",
        rms_norm_fwd, _rms,
        dict(block_sizes=[8], indexing=[TD, P, P, P], num_stages=2, num_warps=32,
             reduction_loops=[2048]),
        65544, 1,
    ),
    (
        "a statistic's store buffer spanning the loop sits above its load's barrier",
        rms_norm_fwd, _rms,
        dict(block_sizes=[8], indexing=[TD, P, TD, TD], num_stages=1, num_warps=8,
             reduction_loops=[2048]),
        65696, 0,
    ),
    (
        "a row statistic's store buffer, allocated where it is computed, spans the next loop",
        rms_norm_fwd, _rms,
        dict(block_sizes=[16], indexing=[P, P, TD, TD], num_stages=4, num_warps=32,
             reduction_loops=[1024]),
        69696, 11,
    ),
    (
        "the losses' store buffer is allocated after the chunk loop that computes them",
        cross_entropy, _cross_entropy,
        dict(block_sizes=[16], indexing=[TD, P, P, TD], num_stages=4, num_warps=16,
             reduction_loops=[256]),
        136, 1,
    ),
    (
        "labels of fewer elements than threads, read by several users, are loaded twice",
        cross_entropy, _cross_entropy,
        dict(block_sizes=[4], indexing=[P] * 4, num_stages=1, num_warps=1,
             reduction_loops=[512]),
        16, 1,
    ),
    (
        "row lengths bounding a jagged loop are converted to the loop's layouts",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[32, 1, 32], indexing=[P] * 5, num_stages=2, num_warps=4,
                       range_multi_buffers=[True, None], range_num_stages=[2, 0],
                       range_unroll_factors=[0, 1]),
        256, 0,
    ),
    (
        "a reduced row's conversion runs before the loop whose store buffer is hoisted",
        softmax_bwd, _two_rows,
        dict(block_sizes=[32, 32, 4], indexing=[P, P, P, P, TD], num_stages=2, num_warps=1,
             range_flattens=[True, None], range_multi_buffers=[None, False],
             range_num_stages=[1, 0], range_unroll_factors=[2, 0]),
        512, 0,
    ),
    (
        "the bias's descriptor buffer, after the dot loop, reuses the operands' memory",
        matmul, _mm_bias,
        _dot_config(block_sizes=[32, 16, 32], indexing=[TD, P, TD, TD], l2_groupings=[8],
                    num_stages=3, num_warps=2, pid_type="persistent_blocked",
                    range_multi_buffers=[True], range_num_stages=[1],
                    range_unroll_factors=[1]),
        3080, 1,
    ),
    (
        "a flattened jagged nest converts its rows x 1 mask beside the gather's copies",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[16, 32, 1], indexing=[P] * 5, num_stages=3, num_warps=1,
                       range_flattens=[True, False], range_multi_buffers=[False, False],
                       range_num_stages=[1, 3], range_unroll_factors=[0, 1]),
        4112, 0,
    ),
    (
        "the same mask beside the flattened nest's copies, with a descriptor on the counts",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[32, 32, 1], indexing=[P, P, TD, P, P], num_stages=3,
                       num_warps=2, range_flattens=[True, False],
                       range_multi_buffers=[None, False], range_num_stages=[3, 0]),
        8224, 1,
    ),
    (
        "a gather tile smaller than the threads: each row sum is converted beside the copies",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[8, 4, 2], indexing=[P] * 5, num_stages=4, num_warps=4,
                       range_flattens=[False, False], range_multi_buffers=[True, None],
                       range_num_stages=[1, 4], range_unroll_factors=[1, 1]),
        896, 1,
    ),
    (
        "a load's barrier is invalidated before its row is converted: the scratch reuses it",
        rms_norm_fwd, _rms,
        dict(block_sizes=[32], indexing=[P, TD, P, P], num_stages=2, num_warps=4,
             reduction_loops=[256]),
        1032, 1,
    ),
    (
        "the mean's buffer, live through the last loop, sits above the bias load's barrier",
        layer_norm_fwd, _layer_norm,
        dict(block_sizes=[32], indexing=[P, P, TD, TD, TD, TD], num_stages=2, num_warps=4,
             reduction_loops=[256]),
        34048, 7,
    ),
    (
        "a loop's pointer store keeps the row statistics' store buffers after that loop",
        layer_norm_fwd, _layer_norm,
        dict(block_sizes=[8], indexing=[P, TD, P, P, TD, TD], num_stages=3, num_warps=2,
             reduction_loops=[512]),
        2056, 1,
    ),
    (
        "a flattened loop nest pipelines the inner load at the outer loop's 4 stages",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[16, 16, 8], indexing=[P, P, TD, P, P], num_stages=1,
                       num_warps=4, range_flattens=[True, True],
                       range_multi_buffers=[True, False], range_num_stages=[4, 0]),
        25600, 1,
    ),
    (
        "the row sums' conversion after the pipelined loop reuses that loop's buffers",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[32, 64, 2], indexing=[P] * 5, num_stages=4,
                       num_warps=16, range_flattens=[False, None],
                       range_multi_buffers=[True, True], range_num_stages=[0, 4]),
        49152, 13,
    ),
    (
        "a gather stepping by one along its last dim is coalesced along it",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[4, 32, 32], indexing=[P] * 5, num_stages=1, num_warps=4),
        512, 0,
    ),
    (
        "per-row indices fewer than the threads are loaded in their user's layout",
        embedding, _embedding,
        dict(block_sizes=[32, 32], indexing=[P, P, P], l2_groupings=[1], num_stages=1,
             num_warps=4),
        0, 0,
    ),
    (
        "at one warp the indices move between lanes and registers by warp shuffles",
        embedding, _embedding,
        dict(block_sizes=[64, 2], indexing=[P, P, P], l2_groupings=[64], num_stages=1,
             num_warps=1),
        0, 11,
    ),
    (
        "64-bit indices keep their load's 2-element vectors in the conversion to the rows",
        embedding, _embedding,
        dict(block_sizes=[2048, 4], indexing=[P, P, P], l2_groupings=[16], num_stages=3,
             num_warps=8),
        8192, 1,
    ),
    (
        "row statistics carried across the column loop keep the reduction's slice layout",
        softmax_two_pass, _rows,
        dict(block_sizes=[1024, 8], indexing=[P, P, P], num_stages=1, num_warps=16,
             range_flattens=[None], range_multi_buffers=[False], range_num_stages=[0],
             range_unroll_factors=[3]),
        0, 0,
    ),
    (
        "a row statistic used with a second loop's tile of another shape is converted",
        softmax_bwd, _two_rows,
        dict(block_sizes=[64, 2, 128], indexing=[P] * 5, num_stages=4, num_warps=32,
             range_flattens=[None, False], range_multi_buffers=[False, None],
             range_num_stages=[0, 1], range_unroll_factors=[0, 1]),
        256, 7,
    ),
    (
        "wgmma's result goes to a pointer store through half its tile: row 8 is a round",
        matmul_dot, _mm,
        _dot_config(block_sizes=[128, 256, 16], indexing=[TD, P, P], num_stages=2,
                    num_warps=8, pid_type="persistent_interleaved"),
        32768, 0,
    ),
    (
        "an mma v2 result's conversion takes less than the pipelined operands",
        matmul, _mm_bias,
        _dot_config(block_sizes=[32, 512, 16], indexing=[P] * 4, num_stages=1, num_warps=4,
                    pid_type="flat",
                    range_flattens=[True], range_num_stages=[2], range_unroll_factors=[1]),
        17408, 0,
    ),
    (
        "the bias row is converted after the loop, in the operands' freed buffers",
        matmul, _mm_bias,
        _dot_config(block_sizes=[32, 32, 32], indexing=[TD, P, P, P], num_stages=4,
                    num_warps=1, pid_type="flat", l2_groupings=[8],
                    range_multi_buffers=[False], range_num_stages=[1],
                    range_unroll_factors=[1]),
        2056, 1,
    ),
    (
        "a kept store smaller than the operands sits above them at its 512-byte alignment",
        matmul_dot, _mm,
        _dot_config(block_sizes=[32, 32, 64], indexing=[TD, TD, TD], num_stages=3,
                    num_warps=2, pid_type="persistent_blocked", l2_groupings=[2],
                    range_flattens=[False], range_num_stages=[1]),
        6656, 0,
    ),
    (
        "a kept store as large as the operands sits below them; they are staged in turn",
        matmul_dot, _mm,
        _dot_config(block_sizes=[32, 32, 16], indexing=[TD, TD, TD], num_stages=2,
                    num_warps=1, pid_type="persistent_blocked", l2_groupings=[64],
                    range_flattens=[True], range_multi_buffers=[False],
                    range_num_stages=[1]),
        3080, 1,
    ),
    (
        "a kept store below a descriptor left operand and the pointer right one it frees",
        matmul, _mm_bias,
        _dot_config(block_sizes=[32, 32, 32], indexing=[TD, P, TD, TD], num_stages=4,
                    num_warps=1, pid_type="persistent_interleaved", l2_groupings=[8],
                    range_multi_buffers=[False], range_num_stages=[1]),
        4104, 0,
    ),
    (
        "a kept store as large as the fp8 operands widened one at a time sits below them",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[32, 32, 64], indexing=[P, P, P, P, TD], l2_groupings=[4],
                    num_stages=4, num_warps=1, pid_type="persistent_interleaved",
                    range_flattens=[False], range_multi_buffers=[False],
                    range_num_stages=[1], range_unroll_factors=[1]),
        4096, 0,
    ),
    (
        "a pointer-stored 128 x 64 fp8 result, its bf16 tile converted in two rounds",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[128, 64, 32], indexing=[TD, P, P, P, P], num_stages=3,
                    num_warps=4, pid_type="persistent_blocked", range_multi_buffers=[True],
                    range_num_stages=[1], range_unroll_factors=[1]),
        8192, 0,
    ),
    (
        "one-stage mma v2: the left descriptor's buffer is read before the right is loaded",
        matmul_dot, _mm,
        _dot_config(block_sizes=[32, 32, 32], indexing=[TD, P, TD], num_stages=1,
                    num_warps=1, pid_type="flat", range_num_stages=[1], l2_groupings=[64]),
        2056, 0,
    ),
    (
        "one-stage mma v2 widens each fp8 operand right after staging it: one at a time",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[16, 32, 64], indexing=[P] * 5, num_stages=2, num_warps=1,
                    pid_type="flat", l2_groupings=[16], range_flattens=[True],
                    range_multi_buffers=[True], range_num_stages=[1]),
        2048, 0,
    ),
    (
        "a row statistic used with a second loop's tile of the same size keeps its layout",
        softmax_bwd, _two_rows,
        dict(block_sizes=[128, 32, 32], indexing=[P] * 5, num_stages=1, num_warps=4,
             range_flattens=[None, None], range_multi_buffers=[None, None],
             range_num_stages=[0, 0], range_unroll_factors=[0, 0]),
        0, 0,
    ),
    (
        "a 64-byte descriptor tile is not pipelined; a pointer load's copies share a buffer",
        softmax_two_pass, _rows,
        dict(block_sizes=[2, 8], indexing=[TD, P, P], num_stages=3, num_warps=1,
             range_flattens=[None], range_multi_buffers=[None], range_num_stages=[3],
             range_unroll_factors=[2]),
        256, 0,
    ),
    (
        "a pipelined load's three 16-byte copies take one 128-byte aligned buffer",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[4, 1, 1], indexing=[P, P, TD, P, P], num_stages=1,
                       num_warps=4, range_flattens=[None, True],
                       range_multi_buffers=[True, None], range_num_stages=[0, 4]),
        128, 0,
    ),
    (
        "a second loop read and written through descriptors takes the reduced row's layout",
        softmax_bwd, _two_rows,
        dict(block_sizes=[64, 64, 4], indexing=[P, P, TD, TD, TD], num_stages=4, num_warps=2,
             range_flattens=[None, False], range_multi_buffers=[True, None],
             range_num_stages=[0, 1], range_unroll_factors=[0, 0]),
        1032, 0,
    ),
    (
        "an unpipelined loop's load barrier sits in its 64-byte tile's padding",
        softmax_bwd, _two_rows,
        dict(block_sizes=[2, 8, 4], indexing=[TD, P, P, P, TD], num_stages=3, num_warps=1,
             range_flattens=[False, False], range_multi_buffers=[None, True],
             range_num_stages=[2, 1], range_unroll_factors=[0, 3]),
        200, 0,
    ),
    (
        "the barriers of a loop's descriptor loads follow its last tile, 8 bytes each",
        softmax_bwd, _two_rows,
        dict(block_sizes=[1, 32, 64], indexing=[TD, TD, TD, TD, P], num_stages=4, num_warps=4,
             range_flattens=[False, None], range_multi_buffers=[True, True],
             range_num_stages=[2, 0], range_unroll_factors=[0, 4]),
        264, 5,
    ),
    (
        "a flattened loop's pointer copies sit 16-byte aligned below its descriptor tile",
        softmax_bwd, _two_rows,
        dict(block_sizes=[1, 16, 8], indexing=[TD, TD, TD, P, P], num_stages=2, num_warps=4,
             range_flattens=[None, True], range_multi_buffers=[False, None],
             range_num_stages=[2, 4], range_unroll_factors=[4, 2]),
        296, 7,
    ),
    (
        "an unrolled loop's 16-byte pointer copies pack below its 16-byte descriptor tile",
        softmax_bwd, _two_rows,
        dict(block_sizes=[1, 4, 8], indexing=[TD, P, TD, P, P], num_stages=3, num_warps=4,
             range_flattens=[None, False], range_multi_buffers=[True, True],
             range_num_stages=[2, 3], range_unroll_factors=[4, 1]),
        168, 7,
    ),
    (
        "a descriptor on K-major y makes the launch take the pointer kernel",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[32, 64, 64], indexing=[P, TD, P, P, TD], l2_groupings=[8],
                    num_stages=4, num_warps=2, pid_type="persistent_interleaved",
                    range_multi_buffers=[False]),
        18432, 0,
    ),
    (
        "a descriptor on K-major y: the pointer kernel's flattened one-stage loop",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[64, 128, 128], indexing=[P, TD, P, P, TD], l2_groupings=[32],
                    num_stages=3, num_warps=4, pid_type="persistent_blocked",
                    range_flattens=[True], range_num_stages=[1], range_unroll_factors=[1]),
        24576, 1,
    ),
    (
        "descriptors on x and K-major y: the pointer kernel, two stages",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[128, 128, 128], indexing=[TD, TD, P, P, TD], l2_groupings=[8],
                    num_stages=2, num_warps=8, pid_type="persistent_interleaved",
                    range_flattens=[True], range_num_stages=[2]),
        65536, 5,
    ),
    (
        "K-major y's descriptor: the config smem_exclusions found wrongly excluded fits",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[512, 64, 128], indexing=[TD, TD, P, P, TD], l2_groupings=[32],
                    num_stages=3, num_warps=16, pid_type="persistent_interleaved"),
        221184, 9,
    ),
    (
        "a descriptor on the broadcast row makes the launch take the pointer kernel",
        vector_add, _add,
        dict(block_sizes=[64, 256], indexing=[TD, TD, TD], l2_groupings=[1], num_stages=3,
             num_warps=8),
        0, 0,
    ),
    (
        "a jagged loop of block 1 moves its i1 mask into the 3-d load's layout, per iteration",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[16, 32, 1], indexing=[P] * 5, num_stages=3, num_warps=1,
                       range_flattens=[True, False], range_multi_buffers=[False, False],
                       range_num_stages=[1, 3], range_unroll_factors=[0, 1]),
        4112, 0,
    ),
    (
        "the block-1 jagged mask's conversion sits above the pipelined copies (2 warps)",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[32, 32, 1], indexing=[P, P, TD, P, P], num_stages=3,
                       num_warps=2, range_flattens=[True, False],
                       range_multi_buffers=[None, False], range_num_stages=[3, 0]),
        8224, 1,
    ),
    (
        "a load of fewer elements than threads leaves the carried row in the store's layout",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[8, 4, 2], indexing=[P] * 5, num_stages=4, num_warps=4,
                       range_flattens=[False, False], range_multi_buffers=[True, None],
                       range_num_stages=[1, 4], range_unroll_factors=[1, 1]),
        896, 1,
    ),
    (
        "per-row values every warp holds whole move into the 3-d slice within each warp",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[32, 32, 1], indexing=[P, P, TD, P, P], num_stages=2,
                       num_warps=4, range_flattens=[None, False],
                       range_multi_buffers=[None, True], range_num_stages=[4, 1],
                       range_unroll_factors=[1, 0]),
        136, 0,
    ),
    (
        "with a jagged block of one, per-row values move at 4 bytes, not as 64-bit offsets",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[128, 64, 1], indexing=[P] * 5, num_stages=3,
                       num_warps=16, range_flattens=[True, True],
                       range_multi_buffers=[False, None], range_num_stages=[0, 1],
                       range_unroll_factors=[1, 1]),
        512, 1,
    ),
    (
        "a kept store sits above the larger operand's copies and below the smaller one's",
        fp8_gemm, _fp8,
        _dot_config(block_sizes=[16, 64, 64], indexing=[TD, P, P, P, TD], l2_groupings=[4],
                    num_stages=2, num_warps=8, pid_type="persistent_blocked",
                    range_flattens=[False], range_num_stages=[2]),
        7176, 0,
    ),
]  # fmt: skip


@pytest.mark.skipif(not TRANSIENT_TMA_BUFFERS, reason="the figures are Triton 3.9's")
@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_estimate_is_within_ten_percent_above_triton(case: int) -> None:
    _, kernel, make, config, triton, _seed = CASES[case]
    args = make()
    estimate = shared_memory_estimate(kernel, args)(Config(**config))
    assert triton <= estimate <= 1.1 * triton, (estimate, triton)


# Rows the estimate bounds only loosely: (what the case shows, kernel, arguments, config,
# Triton's metadata.shared, seed). The estimate must not fall below Triton's figure.
LOOSE: list[tuple[str, Any, Any, dict[str, Any], int, int]] = [
    (
        "per-row counts converted to the slice of the row x column block of the jagged loop",
        jagged_mean_kernel, _jagged,
        _jagged_config(block_sizes=[64, 64, 1], indexing=[P] * 5, num_stages=2, num_warps=4,
                       range_flattens=[True, False], range_num_stages=[1, 1]),
        256, 11,
    ),
]  # fmt: skip


@pytest.mark.skipif(not TRANSIENT_TMA_BUFFERS, reason="the figures are Triton 3.9's")
@pytest.mark.parametrize("case", range(len(LOOSE)), ids=[c[0] for c in LOOSE])
def test_estimate_is_not_below_triton(case: int) -> None:
    _, kernel, make, config, triton, _seed = LOOSE[case]
    estimate = shared_memory_estimate(kernel, make())(Config(**config))
    assert estimate >= triton, (estimate, triton)
