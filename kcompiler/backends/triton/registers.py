"""Registers of ``tl.dot`` results: whether a config's accumulators fit a thread's registers.

A ``tl.dot`` result (the fp32 accumulator, attention's scores) lives in registers: wgmma needs
its whole fragment there. With ``num_warps`` warps a thread has at most ``registers_per_sm /
(32 * num_warps)`` registers. When that is below the per-thread maximum (16 warps or more on
sm_90), ptxas fails with "Insufficient registers" rather than spill once the results take most
of them; with fewer warps it spills instead and still compiles, and a spill costs far more
than a smaller tile. So the rule, at every warp count: the results may take at most half of a
thread's registers (taken as 256 where the maximum is 255); below one warpgroup (4 warps:
without wgmma, mma.sync keeps the operand fragments in registers next to the results) the
results and the two operand tiles together at most a quarter.

A dot whose left operand is computed in registers (attention's probabilities, the softmax of
an earlier dot's scores) reads it from registers, each warp the rows it computes times all of
K. When the warps split the dot's N as well as its M (fewer than 16 rows a warp), that layout
is not the one the operand was computed in: every warp along N holds a converted copy of its
rows x K beside the results, counted with them (``computed_lhs_registers``).

A persistent schedule (``pid_type`` ``persistent_*``) runs the dot's K loop inside a loop over
the program's tiles, and what that loop carries and prepares for the next tile (the tile's
indices, the addresses and predicates of the next pipeline prologue's operand loads) stays
alive in registers beside the accumulator. Where a thread has least room for it, one warpgroup
(whose threads issue all of the operand loads that two warpgroups would share) and 32 warps
(64 registers a thread), the results of a persistent program may take at most a quarter of a
thread's registers.

An fp8 dot with a float32 result that widens its accumulation (``CodegenOptions.fp8_accumulate``)
holds a second accumulator beside the first. The two together may take half of a thread's
registers, or three quarters where two or more warpgroups share the program's tiles: the rest
holds the operand loads' addresses and staging, the pipeline's state and the epilogue, and
the K x N operand tile, which every warpgroup reads, is loaded by all of the program's
threads, so each thread of two warpgroups issues half the copies one warpgroup's would.

* ``imprecise_acc`` (``max_num_imprecise_acc`` = the K block): Triton's wgmma lowering runs each
  K block into a zeroed partial accumulator and adds it to the result, one wgmma instruction's
  fragment at a time: 64 rows x the instruction's N (``wgmma_n``) over a warpgroup's 128
  threads, N / 2 registers a thread. Only with wgmma (4 warps or more, M a multiple of 64);
  mma.sync widens fp8 to fp16 and accumulates in the result itself.
* ``block`` (``acc + tl.dot(a, b)``): the whole dot result is a second tile beside the
  accumulator.
* ``fast``: none.

Calibration: benchmarks/results/h100/shared_memory_calibration.md (the refusals) and
benchmarks/results/cpu/spills-sm90.md (the spills: ptxas on sm_90 compiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.ir import Operation

from kcompiler import settings, target
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import element_bytes

WARPGROUP_WARPS = 4  # Hopper's wgmma runs on 4 warps; fewer fall back to mma.sync
WGMMA_M = 64  # rows of one wgmma instruction (a warpgroup's 4 warps x 16)
MMA_ROWS_PER_WARP = 16
# A thread's registers at 32 warps: too few for a persistent program's tile loop beside
# results that take half of them.
PERSISTENT_FEW_REGISTERS = 64


def wgmma_n(m: int, n: int, num_warps: int) -> int:
    """N of the wgmma instruction Triton picks for an M x N dot result at ``num_warps``: the
    warps go along M first (16 rows each), the rest split N, and the instruction takes the
    widest multiple of 8 up to 256 that divides N and fits one warp column's share."""
    along_m = max(m // MMA_ROWS_PER_WARP, 1)
    along_n = max(num_warps // along_m, 1)
    widest = max(n // along_n, 8)
    return next((k for k in range(256, 7, -8) if n % k == 0 and k <= widest), 8)


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
    # (result dims, size hints) of each fp8 dot whose float32 accumulation is widened
    widened: list[tuple[tuple[str, ...], dict[str, int]]] = field(default_factory=list)
    fp8_accumulate: str = "fast"
    # (dims, size hints, bytes an element) of each left operand not loaded from memory
    computed_lhs: list[tuple[tuple[str, ...], dict[str, int], int]] = field(default_factory=list)

    def elements(self, block_sizes: dict[str, int]) -> int:
        return sum(block_elements(dims, hints, block_sizes) for dims, hints in self.results)

    def operand_registers(self, block_sizes: dict[str, int]) -> float:
        """32-bit registers (summed over the program) the operand tiles take when held."""
        return sum(
            block_elements(dims, hints, block_sizes) * size / 4
            for dims, hints, size in self.operands
        )

    def partial_elements(self, block_sizes: dict[str, int], num_warps: int) -> int:
        """Elements (summed over the program) of the second accumulators fp8 dots keep while
        they widen their accumulation (the module docstring)."""
        total = 0
        for dims, hints in self.widened:
            m = block_elements(dims[-2:-1], hints, block_sizes)
            n = block_elements(dims[-1:], hints, block_sizes)
            if self.fp8_accumulate == "block":
                total += block_elements(dims, hints, block_sizes)
            elif self.fp8_accumulate == "imprecise_acc" and _wgmma(m, num_warps):
                # one instruction's fragment: N / 2 registers a thread of every warpgroup
                total += num_warps * 32 * wgmma_n(m, n, num_warps) // 2
        return total

    def computed_lhs_registers(self, block_sizes: dict[str, int], num_warps: int) -> float:
        """32-bit registers a thread holds for the converted copies of computed left operands
        (the module docstring): a warp's rows x K, where the warps split N too."""
        total = 0.0
        for dims, hints, size in self.computed_lhs:
            m = block_elements(dims[-2:-1], hints, block_sizes)
            k = block_elements(dims[-1:], hints, block_sizes)
            along_m = min(num_warps, max(m // MMA_ROWS_PER_WARP, 1))
            if along_m < num_warps:
                total += m / along_m * k * size / 4 / 32
        return total

    def fits(self, block_sizes: dict[str, int], num_warps: int, persistent: bool = False) -> bool:
        """The module docstring's rule; ``persistent``: the program loops over tiles."""
        if not self.results:
            return True
        device = target.current()
        threads = device.warp_size * num_warps
        registers = min(device.max_registers_per_thread + 1, device.registers_per_sm // threads)
        results = self.elements(block_sizes)
        partial = self.partial_elements(block_sizes, num_warps)
        if num_warps >= WARPGROUP_WARPS:
            shared = num_warps >= 2 * WARPGROUP_WARPS  # two warpgroups or more
            widened = 3 * registers // 4 if shared else registers // 2
            crowded = num_warps == WARPGROUP_WARPS or registers <= PERSISTENT_FEW_REGISTERS
            share = registers // 4 if persistent and crowded else registers // 2
            held = results + threads * self.computed_lhs_registers(block_sizes, num_warps)
            return held <= threads * share and results + partial <= threads * widened
        held = results + partial + self.operand_registers(block_sizes)
        return held <= threads * (registers // 4)


def _wgmma(m: int, num_warps: int) -> bool:
    """Whether Triton lowers a dot of ``m`` rows at ``num_warps`` to wgmma (sm_90)."""
    return num_warps % WARPGROUP_WARPS == 0 and m % WGMMA_M == 0


def dot_registers_checker(module: Operation, fp8_accumulate: str | None = None) -> DotRegisters:
    """The dot results of ``module`` (dims, size hints), for checking many configs.
    ``fp8_accumulate``: how fp8 dots widen their accumulation (default: the setting)."""
    if fp8_accumulate is None:
        fp8_accumulate = settings.current().fp8_accumulate
    results: list[tuple[tuple[str, ...], dict[str, int]]] = []
    operands: list[tuple[tuple[str, ...], dict[str, int], int]] = []
    widened: list[tuple[tuple[str, ...], dict[str, int]]] = []
    computed: list[tuple[tuple[str, ...], dict[str, int], int]] = []
    for k in module.walk():
        if not isinstance(k, t.KernelOp):
            continue
        for op in k.walk():
            res = op.result.type if isinstance(op, t.DotOp) else None
            if isinstance(res, t.BlockType) and res.known:
                results.append((tuple(res.dims), k.size_hints))
                lhs = op.lhs  # type: ignore[union-attr]
                if not isinstance(lhs.owner, t.LoadOp) and isinstance(lhs.type, t.BlockType):
                    size = element_bytes(lhs.type.element_type) or 2
                    computed.append((tuple(lhs.type.dims), k.size_hints, size))
                types = []
                for v in (op.lhs, op.rhs):  # type: ignore[union-attr]
                    ty = v.type
                    if isinstance(ty, t.BlockType) and ty.known:
                        size = element_bytes(ty.element_type) or 2
                        operands.append((tuple(ty.dims), k.size_hints, size))
                        types.append(ty.element_type)
                fp8 = (t.f8e4m3, t.f8e5m2)
                if len(types) == 2 and all(e in fp8 for e in types) and res.element_type == t.f32:
                    widened.append((tuple(res.dims), k.size_hints))
    return DotRegisters(results, operands, widened, fp8_accumulate, computed)


def dot_registers_fit(
    module: Operation, block_sizes: dict[str, int], num_warps: int, persistent: bool = False
) -> bool:
    """Whether the dot results fit in registers (the module docstring): at most half the
    registers a thread has (with an fp8 dot's second accumulator, three quarters from two
    warpgroups on; a quarter for a persistent program on one warpgroup or 32 warps); below 4
    warps, with the operand tiles, a quarter."""
    return dot_registers_checker(module).fits(block_sizes, num_warps, persistent)
