"""Registers of ``tl.dot`` results: whether a config's accumulators fit a thread's registers.

A ``tl.dot`` result (the fp32 accumulator, attention's scores) lives in registers: wgmma needs
its whole fragment there. With ``num_warps`` warps a thread has at most ``registers_per_sm /
(32 * num_warps)`` registers. When that is below the per-thread maximum (16 warps or more on
sm_90), ptxas fails with "Insufficient registers" rather than spill once the results take most
of them; with fewer warps it spills instead and still compiles, and a spill costs far more
than a smaller tile. So the rule, at every warp count: the results may take at most half of a
thread's registers (taken as 256 where the maximum is 255); below one warpgroup (4 warps:
without wgmma, mma.sync keeps the operand fragments in registers next to the results) the
results and the two operand tiles together at most a quarter. Calibration:
benchmarks/results/h100/shared_memory_calibration.md (the refusals) and
benchmarks/results/cpu/spills-sm90.md (the spills: ptxas on sm_90 compiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.ir import Operation

from kcompiler import target
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import element_bytes

WARPGROUP_WARPS = 4  # Hopper's wgmma runs on 4 warps; fewer fall back to mma.sync


def dot_result_elements(module: Operation, block_sizes: dict[str, int]) -> int:
    """Elements of all ``tile.dot`` results of ``module`` together (each dot once), at
    ``block_sizes``: what one program keeps in registers for its accumulators and scores."""
    return dot_registers_checker(module).elements(block_sizes)


@dataclass
class DotRegisters:
    """``dot_registers_fit`` for one module, its IR walked once."""

    results: list[tuple[tuple[str, ...], dict[str, int]]]
    # (dims, size hints, bytes an element) of each dot's two operand tiles
    operands: list[tuple[tuple[str, ...], dict[str, int], int]] = field(default_factory=list)

    def elements(self, block_sizes: dict[str, int]) -> int:
        return sum(block_elements(dims, hints, block_sizes) for dims, hints in self.results)

    def operand_registers(self, block_sizes: dict[str, int]) -> float:
        """32-bit registers (summed over the program) the operand tiles take when held."""
        return sum(
            block_elements(dims, hints, block_sizes) * size / 4
            for dims, hints, size in self.operands
        )

    def fits(self, block_sizes: dict[str, int], num_warps: int) -> bool:
        if not self.results:
            return True
        device = target.current()
        threads = device.warp_size * num_warps
        registers = min(device.max_registers_per_thread + 1, device.registers_per_sm // threads)
        if num_warps >= WARPGROUP_WARPS:
            return self.elements(block_sizes) <= threads * (registers // 2)
        held = self.elements(block_sizes) + self.operand_registers(block_sizes)
        return held <= threads * (registers // 4)


def dot_registers_checker(module: Operation) -> DotRegisters:
    """The dot results of ``module`` (dims, size hints), for checking many configs."""
    results: list[tuple[tuple[str, ...], dict[str, int]]] = []
    operands: list[tuple[tuple[str, ...], dict[str, int], int]] = []
    for k in module.walk():
        if not isinstance(k, t.KernelOp):
            continue
        for op in k.walk():
            res = op.result.type if isinstance(op, t.DotOp) else None
            if isinstance(res, t.BlockType) and res.known:
                results.append((tuple(res.dims), k.size_hints))
                for v in (op.lhs, op.rhs):  # type: ignore[union-attr]
                    ty = v.type
                    if isinstance(ty, t.BlockType) and ty.known:
                        size = element_bytes(ty.element_type) or 2
                        operands.append((tuple(ty.dims), k.size_hints, size))
    return DotRegisters(results, operands)


def dot_registers_fit(module: Operation, block_sizes: dict[str, int], num_warps: int) -> bool:
    """Whether the dot results fit in registers (the module docstring): at most half the
    registers a thread has; below 4 warps, with the operand tiles, a quarter."""
    return dot_registers_checker(module).fits(block_sizes, num_warps)
