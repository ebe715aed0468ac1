"""The register model of the config space (``backends/triton/live_registers.py`` and the
``register_budget`` and loop-unroll constraints of ``runtime/tuning.py``), the dot
register rule (``backends/triton/registers.py``) and the tensor-descriptor alignment of the
shared-memory estimate.

The configs named here were compiled for sm_90 by benchmarks/spill_report.py (ptxas's spill
figures are in benchmarks/results/cpu/spills-sm90.json); these tests only trace (tensors are
``torch.empty``) and never compile.
"""

from __future__ import annotations

from typing import Any

import torch

from kcompiler.backends.triton.live_registers import (
    gather_registers,
    peak_registers,
    thread_registers,
)
from kcompiler.backends.triton.registers import dot_registers_fit
from kcompiler.kernels.attention import attention
from kcompiler.kernels.backward import rms_norm_bwd
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.fp8_gemm import fp8_gemm
from kcompiler.kernels.jagged_mean import jagged_mean_kernel
from kcompiler.kernels.matmul import matmul
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.vector_exp import vector_exp
from kcompiler.runtime.tuning import shared_memory_estimate

F32, BF16 = torch.float32, torch.bfloat16


def _empty(dtype: torch.dtype, *shape: int) -> torch.Tensor:
    return torch.empty(*shape, dtype=dtype)


def _budget(space, **knobs) -> str | None:
    flat = space.to_flat(space.default())
    flat.update(knobs)
    rule = next(c for c in space.constraints if c.name == "register_budget")
    return rule.check(flat)


def test_thread_registers_halve_above_eight_warps() -> None:
    # 64K registers a multiprocessor, at most 255 (counted 256) a thread.
    assert [thread_registers(w) for w in (1, 4, 8, 16, 32)] == [256, 256, 256, 128, 64]


def test_elementwise_peak_is_operand_and_result() -> None:
    (module,) = vector_exp.traced_modules((_empty(F32, 1 << 20),), {})
    # exp(x): the loaded x and its exp are alive together, one fp32 register each an element.
    assert peak_registers(module, {"block_0": 4096}, 128) == 2 * 4096 / 128
    # Doubling the threads halves a thread's share; a block smaller than the program is
    # replicated (one register a value).
    assert peak_registers(module, {"block_0": 4096}, 256) == 2 * 4096 / 256
    assert peak_registers(module, {"block_0": 64}, 128) == 2


def test_loop_carried_accumulator_and_unrolled_copies_count() -> None:
    args = (_empty(F32, 64, 8192), _empty(F32, 64, 8192), _empty(F32, 8192), _empty(F32, 64, 1))
    (module,) = rms_norm_bwd.traced_modules(args, {})
    sizes = {"block_0": 1, "block_1": 1}
    once = peak_registers(module, sizes, 1024)
    # The [8192] weight-gradient accumulator lives across the row loop: more than the rows.
    assert once > 3 * 8192 / 1024
    loop = next(
        s for s in ("block_1", "block_0") if peak_registers(module, sizes, 1024, {s: 2}) > once
    )
    assert peak_registers(module, sizes, 1024, {loop: 2}) > once


def test_dot_operands_staged_in_shared_memory_are_not_counted() -> None:
    a, b = _empty(BF16, 1024, 1024), _empty(BF16, 1024, 1024)
    (module,) = matmul.traced_modules((a, b), {})
    sizes = {"block_0": 128, "block_1": 128, "block_2": 64}
    staged = peak_registers(module, sizes, 256)
    held = peak_registers(module, sizes, 256, staged_dot_operands=False)
    # mma.sync holds the two operand tiles (128 x 64 and 64 x 128 bf16) in registers too.
    assert held - staged >= (128 * 64 + 64 * 128) / 256 * 0.5


def test_register_budget_uses_the_ir_a_chunk_leaves() -> None:
    args = (
        _empty(F32, 4096, 8192),
        _empty(F32, 4096, 8192),
        _empty(F32, 8192),
        _empty(F32, 4096, 1),
    )
    space = rms_norm_bwd.config_space(*args)
    # reduction_loops cannot chunk this kernel's rows (the [8192] weight gradient is carried
    # across them): 2 warps hold 8192-element rows whole, 128 elements a thread for each of
    # several values (ptxas spilled 4.9 KB); the largest-block rule read the chunk (512).
    assert _budget(space, **{"block_sizes[0]": 1, "block_sizes[1]": 1, "num_warps": 2,
                             "reduction_loops[0]": 512}) is not None  # fmt: skip


def test_register_budget_follows_warps_for_whole_rows() -> None:
    space = softmax.config_space(_empty(F32, 4096, 8192))
    whole = {"block_sizes[0]": 1, "reduction_loops[0]": None}
    # 8192 fp32 a row over 1024 threads: 8 registers each of a few values.
    assert _budget(space, **whole, num_warps=32) is None
    # Over 32 threads (one warp), 256 elements a value: beyond the register file.
    assert _budget(space, **whole, num_warps=1) is not None


def test_rows_too_wide_to_hold_keep_only_the_smallest_tiles_overflow() -> None:
    space = cross_entropy.config_space(_empty(F32, 4096, 32000), torch.zeros(4096).long())
    whole = {"reduction_loops[0]": None}
    # A 32768-value row overflows a thread even at 32 warps; one row a program stays reachable
    # (the recorded 16384 x 32768 winner) at the warps where it overflows no more than there.
    assert _budget(space, **whole, **{"block_sizes[0]": 1}, num_warps=32) is None
    assert _budget(space, **whole, **{"block_sizes[0]": 1}, num_warps=16) is None
    # More rows multiply the overflow: 4 rows at 32 warps (ptxas: 32 registers, 1544 B
    # spilled) and 2 at 16 (128 B) were allowed while no worse than 4 or 2 rows at 32 warps.
    assert _budget(space, **whole, **{"block_sizes[0]": 4}, num_warps=32) is not None
    assert _budget(space, **whole, **{"block_sizes[0]": 2}, num_warps=16) is not None


def test_dot_loops_are_not_unrolled() -> None:
    space = matmul.config_space(_empty(BF16, 1024, 1024), _empty(BF16, 1024, 1024))
    rule = next(c for c in space.constraints if c.name == "dot_loop_unroll")
    flat = space.to_flat(space.default())
    assert rule.check({**flat, "range_unroll_factors[0]": 1}) is None
    assert rule.check({**flat, "range_unroll_factors[0]": 2}) is not None


def test_gathers_count_an_index_and_an_address_an_element() -> None:
    offsets = torch.arange(0, 8 * 64 + 1, 64)
    args = (_empty(F32, 8 * 64, 256), offsets, torch.full((8,), 256, dtype=torch.int32), 256)
    (module,) = jagged_mean_kernel.traced_modules(args, {})
    # block_0: rows, block_1: features (the outer loop), block_2: values (the inner loop)
    tile = {"block_0": 16, "block_1": 32, "block_2": 4}  # gathers [16, 4, 32]
    # 2048 fp32 values over 32 threads: 64 values, 64 int64 indices, 64 addresses a thread.
    assert gather_registers(module, tile, 32) == 64 * (1 + 2 + 2)
    space = jagged_mean_kernel.config_space(*args)
    rule = next(c for c in space.constraints if c.name == "gather_registers")
    flat = space.to_flat(space.default())
    # That tile at one warp: 320 registers a thread wanted, 255 given (ptxas spilled 288 B).
    one_warp = {"block_sizes[0]": 16, "block_sizes[1]": 32, "block_sizes[2]": 4, "num_warps": 1}
    assert rule.check({**flat, **one_warp}) is not None
    # The recorded winner's [4, 32, 32] at 4 warps: 32 values a thread, 160 registers.
    winner = {"block_sizes[0]": 4, "block_sizes[1]": 32, "block_sizes[2]": 32, "num_warps": 4}
    assert rule.check({**flat, **winner}) is None


def _jagged_space_and_winner() -> tuple[Any, dict[str, Any]]:
    """jagged_mean's space at 8 rows of 64 x 256 features, and its recorded H200 winner there
    (benchmarks/results/nvidia-h200/session4/memory-bound/anchors.json): [4, 32, 32] at 4
    warps, loop 0 unrolled once, as a flat config of that space."""
    offsets = torch.arange(0, 8 * 64 + 1, 64)
    args = (_empty(F32, 8 * 64, 256), offsets, torch.full((8,), 256, dtype=torch.int32), 256)
    space = jagged_mean_kernel.config_space(*args)
    winner = {
        **space.to_flat(space.default()),
        "block_sizes[0]": 4,
        "block_sizes[1]": 32,
        "block_sizes[2]": 32,
        "num_warps": 4,
        "range_unroll_factors[0]": 1,
        "range_unroll_factors[1]": 0,
    }
    return space, winner


def test_loops_that_hold_loops_are_not_unrolled() -> None:
    space, winner = _jagged_space_and_winner()
    rule = next(c for c in space.constraints if c.name == "outer_loop_unroll")
    # Loop 0 (the feature tiles) holds loop 1 (the values of a row): only loop 0 is held to it.
    assert rule.knob_names == ("range_unroll_factors[0]",)
    assert rule.check(winner) is None
    # The inner loop may unroll; the outer one four times holds four inner loops in sequence
    # (ptxas on sm_90: 80 registers and 8 B spilled, 69 and none unrolled once).
    assert rule.check({**winner, "range_unroll_factors[1]": 4}) is None
    spilled = {**winner, "block_sizes[0]": 8, "block_sizes[1]": 8, "block_sizes[2]": 8}
    assert rule.check({**spilled, "range_unroll_factors[0]": 4}) is not None
    assert rule.check({**spilled, "range_unroll_factors[0]": 2}) is not None


def test_gathering_loops_are_not_unrolled() -> None:
    space, winner = _jagged_space_and_winner()
    rule = next(c for c in space.constraints if c.name == "gather_loop_unroll")
    # Both loops hold the gather of x_flat (the inner one directly).
    assert rule.knob_names == ("range_unroll_factors[0]", "range_unroll_factors[1]")
    # Both recorded winners (range_unroll_factors [1, 0] and [0, 0]) stay.
    assert rule.check(winner) is None
    assert rule.check({**winner, "range_unroll_factors[0]": 0}) is None
    # [16, 4, 16] at 2 warps, 16 gathered values a thread: the inner loop unrolled 3 times
    # took 168 registers and spilled 36 B on sm_90, once 95 and none.
    tile = {**winner, "block_sizes[0]": 16, "block_sizes[1]": 4, "block_sizes[2]": 16}
    assert rule.check({**tile, "num_warps": 2, "range_unroll_factors[1]": 1}) is None
    assert rule.check({**tile, "num_warps": 2, "range_unroll_factors[1]": 3}) is not None


def test_tensor_descriptor_shared_memory_is_128_byte_aligned() -> None:
    x = _empty(F32, 1 << 20)
    estimate = shared_memory_estimate(vector_exp, (x,))
    space = vector_exp.config_space(x)
    knobs = [k.name for k in space.knobs if k.name.startswith("indexing[")]
    config = space.to_config(
        {
            **space.to_flat(space.default()),
            "block_sizes[0]": 4,
            **{k: "tensor_descriptor" for k in knobs},
        }
    )
    # 16-byte tiles and a barrier: Triton allocates one 128-byte unit.
    assert estimate(config) == 128


def test_dot_rows_per_warp_from_16_warps() -> None:
    space = matmul.config_space(_empty(BF16, 1024, 1024), _empty(BF16, 1024, 1024))
    rule = next(c for c in space.constraints if c.name == "dot_rows_per_warp")
    flat = space.to_flat(space.default())
    # 16 warps want 256 rows (16 a warp); 8 warps are not held to it.
    assert rule.check({**flat, "block_sizes[0]": 256, "num_warps": 16}) is None
    assert rule.check({**flat, "block_sizes[0]": 128, "num_warps": 16}) is not None
    assert rule.check({**flat, "block_sizes[0]": 64, "num_warps": 8}) is None


def test_dot_operands_count_below_a_warpgroup() -> None:
    (module,) = matmul.traced_modules((_empty(BF16, 1024, 1024), _empty(BF16, 1024, 1024)), {})
    tile = {"block_0": 32, "block_1": 64, "block_2": 64}
    # One warp, 64 registers a thread for dots: the 32 x 64 accumulator alone takes 64, its
    # bf16 operands another 96 (ptxas spilled 32-36 B).
    assert not dot_registers_fit(module, tile, 1)
    assert dot_registers_fit(module, {"block_0": 16, "block_1": 16, "block_2": 16}, 1)
    # From one warpgroup on the operands are staged in shared memory: results only.
    assert dot_registers_fit(module, tile, 4)


def test_persistent_tiles_on_one_warpgroup_keep_a_quarter_for_results() -> None:
    (module,) = matmul.traced_modules((_empty(BF16, 4096, 4096), _empty(BF16, 4096, 4096)), {})

    def fits(m: int, n: int, warps: int, persistent: bool) -> bool:
        return dot_registers_fit(module, {"block_0": m, "block_1": n, "block_2": 64}, warps,
                                 persistent)  # fmt: skip

    # 128 x 128 at 4 warps: the accumulator takes half of a thread's 256 registers. Flat, it
    # fits (matmul and matmul_dot: 0 of 15 compiles spilled); looping over tiles, ptxas
    # spilled 40-76 B in 4 of 33.
    assert fits(128, 128, 4, persistent=False) and not fits(128, 128, 4, persistent=True)
    assert fits(64, 128, 4, persistent=True)  # a quarter
    # 32 warps, 64 registers a thread: 512 x 64 takes half of them (3 of 6 spilled).
    assert fits(512, 64, 32, persistent=False) and not fits(512, 64, 32, persistent=True)
    # Two warpgroups share the loads: the recorded H200 winner 128 x 256 x 64, 8 warps,
    # persistent_blocked (benchmarks/results/nvidia-h200/session4/tensor-core-run4/).
    assert fits(128, 256, 8, persistent=True)


def test_computed_left_operands_split_along_n_count_whole_rows() -> None:
    q = _empty(BF16, 4, 16, 2048, 64)
    (module,) = attention.traced_modules((q, q, q, True), {})

    def fits(m: int, n: int, warps: int) -> bool:
        # block_2: the query rows (M of both dots), block_3: the keys (N, then K of P @ V)
        return dot_registers_fit(module, {"block_0": 1, "block_1": 1, "block_2": m,
                                          "block_3": n}, warps)  # fmt: skip

    # 64 queries at 8 warps: 4 warps along M, 2 along the keys, so each warp holds a copy of
    # its 16 rows x 256 keys of P (64 registers a thread) beside 80 of results: ptxas
    # spilled 28-284 B in 3 of 6 compiles.
    assert not fits(64, 256, 8)
    # The recorded winners: 128 x 64 at 8 warps and 64 x 64 at 4 (warps along M only).
    assert fits(128, 64, 8) and fits(64, 64, 4)
    # 128 x 64 at 4 warps: 32 rows a warp, P stays in the scores' layout.
    assert fits(128, 64, 4)


def test_wgmma_n_follows_tritons_warp_layout() -> None:
    from kcompiler.backends.triton.registers import wgmma_n

    # Warps go along M first (16 rows each); the instruction's N is what a warp column keeps.
    assert wgmma_n(128, 256, 8) == 256 and wgmma_n(256, 128, 8) == 128
    assert wgmma_n(64, 256, 8) == 128  # 4 warps along M, 2 along N
    assert wgmma_n(128, 512, 4) == 256  # at most 256


def test_fp8_widening_accumulator_counts_with_the_results() -> None:
    from kcompiler.backends.triton.registers import dot_registers_checker

    fp8 = torch.float8_e4m3fn
    x, y = _empty(fp8, 4096, 4096), _empty(fp8, 4096, 4096).t()  # y K-major
    scale = torch.tensor(1.0)
    (module,) = fp8_gemm.traced_modules((x, y, scale, scale), {})
    widened = dot_registers_checker(module, "imprecise_acc")

    def fits(m: int, n: int, warps: int, checker=widened) -> bool:
        return checker.fits({"block_0": m, "block_1": n, "block_2": 128}, warps)

    # 128 x 256 at 8 warps: 128 accumulator registers a thread and one 64 x 256 instruction's
    # 128 beside them (ptxas: 255 registers, 240-260 B spilled); 256 x 128 (a recorded
    # winner) holds 128 + 64 over two warpgroups (8 B).
    assert not fits(128, 256, 8) and fits(256, 128, 8)
    # One warpgroup at 128 + 64 spilled 8-96 B in 10 of 17 compiles; 64 + 64 fits.
    assert not fits(128, 128, 4) and fits(64, 128, 4) and fits(128, 128, 8)
    # Below wgmma (mma.sync: under 4 warps or M under 64) no partial accumulator.
    assert widened.partial_elements({"block_0": 32, "block_1": 128, "block_2": 128}, 4) == 0
    assert widened.partial_elements({"block_0": 64, "block_1": 64, "block_2": 128}, 2) == 0
    # Without widening the results alone count; the "block" form holds a whole second tile.
    assert fits(128, 256, 8, dot_registers_checker(module, "fast"))
    block = dot_registers_checker(module, "block")
    assert block.partial_elements({"block_0": 64, "block_1": 64, "block_2": 128}, 2) == 64 * 64
    assert not fits(256, 128, 8, block)
