"""Config-space derivation: the tunable knobs of traced IR, their domains and constraints.

Plain data (no autotune import): the runtime turns it into an ``autotune.ConfigSpace``. Every
block value's element count must stay within Triton's limit of 2**20 whatever knobs are drawn,
so each value contributes one product constraint over the block knobs its dims use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from kcompiler.dialects import tile as t
from kcompiler.passes.block_defaults import (
    _pow2,
    block_elements,
    block_extents,
    default_block_sizes,
)

TRITON_MAX_NUMEL = 1 << 20


@dataclass
class BlockKnob:
    symbol: str
    index: int  # position in Config.block_sizes
    low: int
    high: int
    default: int


@dataclass
class DerivedSpace:
    blocks: list[BlockKnob]
    # (block symbols of one value, static element factor): product(blocks) * factor <= limit
    products: list[tuple[tuple[str, ...], int]] = field(default_factory=list)


DOT_MIN_BLOCK = 16  # tl.dot needs M, N, K >= 16 on tensor cores
DOT_MIN_K_8BIT = 32  # ... and K >= 32 for 8-bit operands (fp8: "at 44:13" CompilationError)


def dot_min_blocks(module: Operation) -> dict[str, int]:
    """Smallest legal size of each block symbol that is an M, N or K dim of some tile.dot."""
    from kcompiler.passes.indexing import element_bytes

    out: dict[str, int] = {}
    for op in module.walk():
        if not isinstance(op, t.DotOp):
            continue
        for i, v in enumerate((op.lhs, op.rhs)):
            if not (isinstance(v.type, t.BlockType) and v.type.known):
                continue
            k_axis = v.type.rank - 1 if i == 0 else v.type.rank - 2
            one_byte = element_bytes(v.type.element_type) == 1
            for axis, d in enumerate(v.type.dims):
                if d.startswith("block_"):
                    low = DOT_MIN_K_8BIT if one_byte and axis == k_axis else DOT_MIN_BLOCK
                    out[d] = max(out.get(d, 1), low)
    return out


def dot_blocks(module: ModuleOp) -> set[str]:
    """Block symbols that are an M, N or K dim of some tile.dot."""
    return set(dot_min_blocks(module))


def derive_space(
    modules: list[ModuleOp], fixed: dict[str, int], registered: dict[str, int]
) -> DerivedSpace:
    blocks: dict[str, BlockKnob] = {}
    products: set[tuple[tuple[str, ...], int]] = set()
    for module in modules:
        extents = block_extents(module)
        defaults = default_block_sizes(module)
        in_dots = dot_min_blocks(module)
        for kernel in module.ops:
            if not isinstance(kernel, t.KernelOp):
                continue
            values = kernel.size_hints
            for op in kernel.walk():
                if isinstance(op, t.ForOp):
                    sym = op.block.data
                    if sym.isdigit() or sym in fixed:
                        continue
                    extent = extents.get(sym, 0) or 1024
                    default = registered.get(sym, defaults.get(sym, 32))
                    low = in_dots.get(sym, 1)
                    default = max(default, low)
                    high = max(default, min(_pow2(extent), 4096))
                    blocks[sym] = BlockKnob(sym, int(sym.split("_")[1]), low, high, default)
                for r in op.results:
                    if isinstance(r.type, t.BlockType) and r.type.known:
                        syms = tuple(
                            sorted(
                                d for d in r.type.dims if d.startswith("block_") and d not in fixed
                            )
                        )
                        factor = block_elements(r.type.dims, values, fixed)
                        if syms:
                            products.add((syms, factor))
    ordered = sorted(blocks.values(), key=lambda b: b.index)
    return DerivedSpace(ordered, sorted(products))


# -- shared memory ----------------------------------------------------------------------------
# Triton's software pipeliner keeps ``num_stages`` copies of every tile a loop loads for a
# ``tl.dot`` in shared memory (multi-buffering); a config whose total exceeds the device's
# per-block limit fails to compile ("out of resource: shared memory"), so the derived space
# excludes it and the backend rejects it naming the knobs.
#
# Checked on an H100 (Triton 3.6; benchmarks/shared_memory_calibration.py, results in
# benchmarks/results/h100/shared_memory_calibration.md). Plain knobs (237 configs of matmul
# fp16/fp32, fp8_gemm, attention D=64/128, block sizes 64-256, 1-5 stages): the estimate equals
# Triton's allocation for 233; the other 4 (1-2 stages) allocate max(pipeline buffers, the
# epilogue's layout conversion of the accumulator), at most 131,072 bytes. Configs drawn from
# the spaces, with the loop knobs: ``range_unroll_factors`` multiplies the pipelined buffers
# (each unrolled copy has its own), and ``range_multi_buffers=True`` (the accumulator may be
# multi-buffered) can add the accumulator's tile. Row reductions of dot results (attention's
# max and sum) took no shared memory there (the mma layout keeps a row in one warp).

SHARED_MEMORY_H100 = 232448  # bytes per block with opt-in on sm_90 (227 KiB)


@dataclass(frozen=True)
class SharedBuffer:
    """A ``tl.dot`` operand held in shared memory (``accumulator`` False), or a dot result that
    a loop may multi-buffer (True): ``dims`` (block symbols, size symbols, static ints) of
    ``elem_bytes`` each; ``loop`` is the sequential loop that loads (or accumulates) it, None
    when it is loaded once."""

    dims: tuple[str, ...]
    elem_bytes: int
    loop: str | None
    accumulator: bool = False


def _loaded(v: SSAValue) -> t.LoadOp | None:
    """The load a dot operand comes from, through casts and reshapes (None: computed)."""
    op = v.owner
    while isinstance(op, (t.CastOp, t.ReshapeOp)):
        op = op.operand.owner
    return op if isinstance(op, t.LoadOp) else None


def _enclosing_sequential_loop(op: Operation) -> str | None:
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, t.ForOp):
            return None if parent.parallel is not None else parent.block.data
        parent = parent.parent_op()
    return None


def shared_buffers(module: Operation) -> list[SharedBuffer]:
    """The ``tile.dot`` operands of ``module`` that live in shared memory, and the results of
    dots in sequential loops (accumulators).

    A loaded operand is staged through shared memory in the dtype it is loaded in (fp8 stays
    one byte). A computed left operand (attention's ``p``) stays in registers (Hopper's wgmma
    reads A from registers); a computed right operand is written to shared memory once.
    """
    from kcompiler.passes.indexing import element_bytes

    out: list[SharedBuffer] = []
    for op in module.walk():
        if not isinstance(op, t.DotOp):
            continue
        for v in (op.lhs, op.rhs):
            ty = v.type
            if not (isinstance(ty, t.BlockType) and ty.known):
                continue
            load = _loaded(v)
            if load is None and v is op.lhs:
                continue
            src = t.block_of(load.result) if load is not None else ty
            loop = _enclosing_sequential_loop(load) if load is not None else None
            out.append(SharedBuffer(tuple(ty.dims), element_bytes(src.element_type) or 4, loop))
        res = op.result.type
        loop = _enclosing_sequential_loop(op)
        if loop is not None and isinstance(res, t.BlockType) and res.known:
            out.append(SharedBuffer(tuple(res.dims), 4, loop, accumulator=True))
    return out


def shared_memory_estimator(module: Operation) -> Callable[..., int]:
    """``estimate(block_sizes, num_stages, range_num_stages=None, range_unroll_factors=None,
    range_multi_buffers=None)`` for ``module`` (per-loop dicts keyed by block symbol, as
    ``loop_knobs.range_options`` gives them), with the IR walked once (a space's constraint
    calls it for every drawn config). See ``shared_memory_bytes``."""
    from kcompiler.passes.block_defaults import block_elements

    buffers = shared_buffers(module)
    hints: dict[str, int] = {}
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            hints.update(k.size_hints)

    def estimate(
        block_sizes: dict[str, int],
        num_stages: int,
        range_num_stages: dict[str, int] | None = None,
        range_unroll_factors: dict[str, int] | None = None,
        range_multi_buffers: dict[str, bool | None] | None = None,
    ) -> int:
        stages_of = range_num_stages or {}
        unroll_of = range_unroll_factors or {}
        multi_of = range_multi_buffers or {}
        total = 0
        for b in buffers:
            size = block_elements(b.dims, hints, block_sizes) * b.elem_bytes
            if b.accumulator:
                total += size if b.loop is not None and multi_of.get(b.loop) is True else 0
                continue
            copies = 1
            if b.loop is not None:
                copies = max(1, stages_of.get(b.loop) or num_stages)
                copies *= max(1, unroll_of.get(b.loop) or 1)
            total += copies * size
        return total

    return estimate


def shared_memory_bytes(
    module: Operation,
    block_sizes: dict[str, int],
    num_stages: int,
    range_num_stages: dict[str, int] | None = None,
    range_unroll_factors: dict[str, int] | None = None,
    range_multi_buffers: dict[str, bool | None] | None = None,
) -> int:
    """Estimated shared memory of one program in bytes. Each dot operand loaded in a
    sequential loop takes ``stages x unroll`` buffers of its tile: ``stages`` is the loop's
    ``range_num_stages`` entry when set, else ``num_stages``; ``unroll`` its
    ``range_unroll_factors`` entry (matmul: ``num_stages * (BLOCK_M * BLOCK_K + BLOCK_K *
    BLOCK_N) * element size``). Other operands take one buffer; a loop with
    ``range_multi_buffers`` True adds its dot accumulator's tile (4 bytes an element).

    Block symbols count at ``block_sizes``; whole size symbols at the next power of two of
    their traced value (as for registers), so the estimate is for the traced shapes.
    """
    return shared_memory_estimator(module)(
        block_sizes, num_stages, range_num_stages, range_unroll_factors, range_multi_buffers
    )
