"""Registers of ``tl.dot`` results: whether a config's accumulators fit a thread's registers.

A ``tl.dot`` result (the fp32 accumulator, attention's scores) lives in registers: wgmma needs
its whole fragment there. With ``num_warps`` warps a thread has at most ``registers_per_sm /
(32 * num_warps)`` registers. When that is below the per-thread maximum (16 warps or more on
sm_90), ptxas fails with "Insufficient registers" rather than spill once the results take most
of them; with fewer warps it spills instead and still compiles. So the rule: the results may
take at most half of a thread's registers when the thread has fewer than the maximum, anything
otherwise. Calibration: benchmarks/results/h100/shared_memory_calibration.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import Operation

from kcompiler import target
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.dialects import tile as t


def dot_result_elements(module: Operation, block_sizes: dict[str, int]) -> int:
    """Elements of all ``tile.dot`` results of ``module`` together (each dot once), at
    ``block_sizes``: what one program keeps in registers for its accumulators and scores."""
    return dot_registers_checker(module).elements(block_sizes)


@dataclass
class DotRegisters:
    """``dot_registers_fit`` for one module, its IR walked once."""

    results: list[tuple[tuple[str, ...], dict[str, int]]]

    def elements(self, block_sizes: dict[str, int]) -> int:
        return sum(block_elements(dims, hints, block_sizes) for dims, hints in self.results)

    def fits(self, block_sizes: dict[str, int], num_warps: int) -> bool:
        device = target.current()
        threads = device.warp_size * num_warps
        per_thread = device.registers_per_sm // threads
        if per_thread >= device.max_registers_per_thread or not self.results:
            return True
        return self.elements(block_sizes) <= threads * (per_thread // 2)


def dot_registers_checker(module: Operation) -> DotRegisters:
    """The dot results of ``module`` (dims, size hints), for checking many configs."""
    results: list[tuple[tuple[str, ...], dict[str, int]]] = []
    for k in module.walk():
        if not isinstance(k, t.KernelOp):
            continue
        for op in k.walk():
            res = op.result.type if isinstance(op, t.DotOp) else None
            if isinstance(res, t.BlockType) and res.known:
                results.append((tuple(res.dims), k.size_hints))
    return DotRegisters(results)


def dot_registers_fit(module: Operation, block_sizes: dict[str, int], num_warps: int) -> bool:
    """Whether the dot results fit in registers (the module docstring): at most half the
    registers a thread has when that is below 255 (16 warps or more), always otherwise."""
    return dot_registers_checker(module).fits(block_sizes, num_warps)
